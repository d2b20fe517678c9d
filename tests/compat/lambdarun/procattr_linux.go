package lambdarun

import (
	"os/exec"
	"syscall"
)

// DieWithParent makes the process of cmd (not started yet) get SIGKILL when
// the test binary dies without stopping it (go test -timeout panics, a
// crash), so no function or server outlives its test.
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
