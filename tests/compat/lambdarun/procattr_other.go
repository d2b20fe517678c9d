//go:build !linux

package lambdarun

import "os/exec"

// DieWithParent does nothing here: only Linux has a parent-death signal.
func DieWithParent(cmd *exec.Cmd) {}
