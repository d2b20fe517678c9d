//go:build !linux

package moto

import "os/exec"

func setParentDeath(*exec.Cmd) {}
