//go:build unix

package callout

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in its own process group and makes the
// context's cancellation kill the whole group, so a script's children stop
// with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
