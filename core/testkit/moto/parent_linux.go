package moto

import (
	"os/exec"
	"syscall"
)

// setParentDeath has the kernel stop the server when the test binary dies
// without running Main's Stop (a panic, a timeout).
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
