//go:build !unix

package callout

import "os/exec"

// setProcessGroup leaves cmd as it is: the context's cancellation kills the
// process only.
func setProcessGroup(*exec.Cmd) {}
