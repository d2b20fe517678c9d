// Package boskos holds the domain: resources and their states, user data and
// its merge rule, the typed errors every layer speaks (each with a code that
// maps to one HTTP status), and the configuration model with its validation.
// It imports no SDK and no storage package.
package boskos
