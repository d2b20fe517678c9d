// Command envs prints the names of the environments of stack.Environments,
// one a line (scripts/cdk.sh checks ENV against them); with -functions, the
// names of every function instead (for placeholder builds).
package main

import (
	"flag"
	"fmt"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

func main() {
	fns := flag.Bool("functions", false, "print the function names")
	flag.Parse()
	if *fns {
		for _, f := range deploy.Functions {
			fmt.Println(f.Name)
		}
		return
	}
	for _, e := range stack.EnvNames() {
		fmt.Println(e)
	}
}
