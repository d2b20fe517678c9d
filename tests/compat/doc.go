// Package compat is the end-to-end compatibility suite: it builds the real
// boskos binary, starts it, and drives it with the upstream Go client
// (sigs.k8s.io/boskos/client) and upstream's Mason client
// (sigs.k8s.io/boskos/mason). It is its own module so that the upstream
// client's dependencies stay out of the main module (the Mason package
// also brings k8s.io/client-go and controller-runtime into this module's
// graph).
package compat
