// Package compat is the end-to-end compatibility suite: it builds the real
// boskos binary, starts it, and drives it with the upstream Go client
// (sigs.k8s.io/boskos/client). It is its own module so that the upstream
// client's dependencies stay out of the main module.
package compat
