package lambdarun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Functions are the Lambda functions of the project, by directory name under
// functions/.
var Functions = []string{"acquire", "acquirebystate", "release", "update", "reset", "metric", "metrics", "read", "history"}

// Jobs are the scheduled maintenance functions of the project (one pass per
// EventBridge scheduled event), by directory name under functions/.
var Jobs = []string{"reaper", "reconciler", "cleaner", "janitor", "mason-dispatch"}

// MasonSteps are the step functions of Mason's workflow (one step per
// invocation by Step Functions), by directory name under functions/.
var MasonSteps = []string{"mason-recycle", "mason-fulfill", "mason-construct", "mason-free", "mason-gc"}

// Build compiles every function (Functions, Jobs and MasonSteps) for the host's OS and
// architecture with the project's scripts/build-lambdas.sh (repoRoot is the
// main module's root) into outDir/<name>/bootstrap, and returns those paths
// by name.
func Build(ctx context.Context, repoRoot, outDir string) (map[string]string, error) {
	repoRoot, err := filepath.Abs(repoRoot)
	if err != nil {
		return nil, err
	}
	if outDir, err = filepath.Abs(outDir); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "scripts", "build-lambdas.sh"))
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(),
		"GOOS="+runtime.GOOS,
		"GOARCH="+runtime.GOARCH,
		"BUILD_DIR="+outDir,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("lambdarun: build-lambdas.sh: %w\n%s", err, out)
	}
	paths := make(map[string]string, len(Functions)+len(Jobs)+len(MasonSteps))
	for _, name := range append(append(append([]string(nil), Functions...), Jobs...), MasonSteps...) {
		p := filepath.Join(outDir, name, "bootstrap")
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("lambdarun: %s not built: %w", name, err)
		}
		paths[name] = p
	}
	return paths, nil
}
