package main

import (
	"context"
	"fmt"
	"io"
)

// cmdTable is `boskos table create|delete`.
func cmdTable(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "boskos table: not available yet")
	return 1
}
