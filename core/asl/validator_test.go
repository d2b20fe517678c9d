package asl_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/asl"
)

// validateScript is the repository's asl-validator wrapper.
const validateScript = "../../scripts/asl-validate.sh"

// TestASLValidator runs scripts/asl-validate.sh (asl-validator@4.0.0,
// installed from npm on first use) on the fixtures: it refuses each
// document of testdata/invalid and accepts those of testdata/valid and
// Mason's workflow; asl.Parse agrees on every one of them.
func TestASLValidator(t *testing.T) {
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not found: asl-validator cannot be installed")
	}
	if testing.Short() {
		t.Skip("installs asl-validator from npm on first use")
	}
	invalid, err := filepath.Glob("testdata/invalid/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, invalid)
	valid, err := filepath.Glob("testdata/valid/*.asl.json")
	require.NoError(t, err)
	require.NotEmpty(t, valid)
	valid = append(valid, masonWorkflow)

	// One run over all the fixtures (asl-validator takes a second or two
	// to start): it fails, and gives a verdict per file.
	out, code := validate(t, append(append([]string(nil), invalid...), valid...)...)
	assert.Equal(t, 1, code, "got exit %d, want 1; output:\n%s", code, out)
	for _, f := range invalid {
		assert.Contains(t, out, `"`+f+`" is invalid`, "asl-validator accepts %s", f)
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = asl.Parse(doc)
		assert.Error(t, err, "asl.Parse accepts %s, which asl-validator refuses", f)
	}
	for _, f := range valid {
		assert.Contains(t, out, `"`+f+`" is valid`, "asl-validator refuses %s", f)
		doc, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = asl.Parse(doc)
		assert.NoError(t, err, "%s", f)
	}
	out, code = validate(t, valid...)
	assert.Equal(t, 0, code, "got exit %d on valid documents, want 0; output:\n%s", code, out)
}

// validate runs the script on files and returns its output and exit code.
func validate(t *testing.T, files ...string) (string, int) {
	t.Helper()
	out, err := exec.Command("bash", append([]string{validateScript}, files...)...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err, "%s", out)
	return string(out), 0
}
