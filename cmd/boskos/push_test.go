package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/s3config/s3test"
)

// TestConfigPush: `boskos config push` validates with the one validator and
// uploads only a valid file, over the real SDK to gofakes3 (path-style).
func TestConfigPush(t *testing.T) {
	ctx := context.Background()
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", "resources:\n- type: gce-project\n  names: [p-1, p-2]\n")
	bad := writeFile(t, dir, "bad.yaml", "resources:\n- type: a\n  names: [Bad_Name]\n- type: b\n  min-count: 3\n  max-count: 1\n")
	src := s3config.New(srv.Client(t), s3config.URI{Bucket: "cfg", Key: "boskos.yaml"})

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string
		uploaded   string // content of the object afterwards ("" = none)
	}{
		{
			name:     "invalid file uploads nothing and prints every error",
			args:     []string{"--config", bad, "--to", "s3://cfg/boskos.yaml"},
			wantCode: 1, wantStderr: []string{"Bad_Name", "min-count", "nothing was uploaded"},
		},
		{
			name:     "flags missing",
			args:     nil,
			wantCode: 2, wantStderr: []string{"--config is required", "--to is required"},
		},
		{
			name:     "not an S3 URI",
			args:     []string{"--config", good, "--to", "https://cfg/boskos.yaml"},
			wantCode: 2, wantStderr: []string{`--to: "https://cfg/boskos.yaml" is not an S3 URI (s3://bucket/key)`},
		},
		{
			name:     "missing file",
			args:     []string{"--config", dir + "/none.yaml", "--to", "s3://cfg/boskos.yaml"},
			wantCode: 1, wantStderr: []string{"read config"},
		},
		{
			name:     "missing bucket",
			args:     []string{"--config", good, "--to", "s3://nope/boskos.yaml"},
			wantCode: 1, wantStderr: []string{"put s3://nope/boskos.yaml: no such bucket or object"},
		},
		{
			name:     "valid file is uploaded",
			args:     []string{"--config", good, "--to", "s3://cfg/boskos.yaml"},
			wantCode: 0, wantStdout: "pushed " + good + " to s3://cfg/boskos.yaml (ETag ",
			uploaded: "p-2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.Reset()
			args := append([]string{"config", "push", "--s3-endpoint", srv.URL}, tc.args...)
			code, stdout, stderr := runCmd(ctx, args...)
			assert.Equal(t, tc.wantCode, code, "stdout %q stderr %q", stdout, stderr)
			assert.True(t, strings.HasPrefix(stdout, tc.wantStdout), "stdout %q", stdout)
			for _, w := range tc.wantStderr {
				assert.Contains(t, stderr, w)
			}
			doc, err := src.Fetch(ctx, "")
			if tc.uploaded == "" {
				require.ErrorIs(t, err, s3config.ErrNotFound, "nothing uploaded")
				return
			}
			require.NoError(t, err)
			assert.Contains(t, string(doc.Data), tc.uploaded)
			assert.Contains(t, stdout, doc.Version)
		})
	}
}
