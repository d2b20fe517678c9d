package s3config_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/s3config"
	"github.com/boskos-serverless/boskos/core/s3config/s3test"
)

func TestParseURI(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    s3config.URI
		wantErr string
	}{
		{name: "bucket and key", in: "s3://cfg-bucket/boskos.yaml", want: s3config.URI{Bucket: "cfg-bucket", Key: "boskos.yaml"}},
		{name: "key with folders", in: "s3://my.bucket/env/prod/boskos.yaml", want: s3config.URI{Bucket: "my.bucket", Key: "env/prod/boskos.yaml"}},
		{name: "empty", in: "", wantErr: `"" is not an S3 URI (s3://bucket/key): it is empty`},
		{name: "other scheme", in: "https://bucket/key", wantErr: `the scheme is "https", not s3`},
		{name: "no scheme", in: "bucket/key", wantErr: "it does not start with s3://"},
		{name: "no bucket", in: "s3:///key", wantErr: "the bucket is missing"},
		{name: "no key", in: "s3://bucket", wantErr: "the object key is missing"},
		{name: "empty key", in: "s3://bucket/", wantErr: "the object key is missing"},
		{name: "folder", in: "s3://bucket/dir/", wantErr: "names a folder, not an object"},
		{name: "upper-case bucket", in: "s3://Bucket/key", wantErr: `"Bucket" is not a bucket name`},
		{name: "short bucket", in: "s3://ab/key", wantErr: `"ab" is not a bucket name`},
		{name: "double dot", in: "s3://a..b/key", wantErr: `"a..b" is not a bucket name`},
		{name: "blanks", in: " s3://bucket/key", wantErr: "blanks around it"},
		{name: "control character", in: "s3://bucket/a\nb", wantErr: "control character"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s3config.ParseURI(tc.in)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.Contains(t, err.Error(), "is not an S3 URI (s3://bucket/key)")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.in, got.String())
		})
	}
}

// TestFetch runs the real SDK against gofakes3 over HTTP (path-style):
// the first fetch reads the object and its ETag, a fetch conditional on
// that ETag is one GET answered 304 (gofakes3 implements If-None-Match),
// and a new upload is fetched again.
func TestFetch(t *testing.T) {
	ctx := context.Background()
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	src := s3config.New(srv.Client(t), s3config.URI{Bucket: "cfg", Key: "boskos.yaml"})
	assert.Equal(t, "s3://cfg/boskos.yaml", src.Name())

	v1, err := src.Put(ctx, []byte("resources: []\n"))
	require.NoError(t, err)
	require.NotEmpty(t, v1)

	srv.Reset()
	doc, err := src.Fetch(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "resources: []\n", string(doc.Data))
	assert.Equal(t, v1, doc.Version)
	assert.False(t, doc.NotModified)
	assert.Equal(t, map[string]int{"GET 200": 1}, srv.Counts())
	assert.Empty(t, srv.LastHeader().Get("If-None-Match"), "an unconditional fetch")

	srv.Reset()
	doc, err = src.Fetch(ctx, v1)
	require.NoError(t, err)
	assert.True(t, doc.NotModified)
	assert.Equal(t, v1, doc.Version)
	assert.Empty(t, doc.Data)
	assert.Equal(t, map[string]int{"GET 304": 1}, srv.Counts(), "an unchanged object costs one 304")
	assert.Equal(t, v1, srv.LastHeader().Get("If-None-Match"), "the GET is conditional on the ETag")

	v2, err := src.Put(ctx, []byte("resources:\n- {type: a, names: [a-1]}\n"))
	require.NoError(t, err)
	require.NotEqual(t, v1, v2)
	srv.Reset()
	doc, err = src.Fetch(ctx, v1)
	require.NoError(t, err)
	assert.False(t, doc.NotModified)
	assert.Equal(t, v2, doc.Version)
	assert.Contains(t, string(doc.Data), "a-1")
	assert.Equal(t, map[string]int{"GET 200": 1}, srv.Counts())
}

// TestErrors: failures come back as this package's errors, with the URI,
// and no SDK type can be reached through them.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	srv := s3test.NewServer(t)
	srv.CreateBucket(t, "cfg")
	client := srv.Client(t)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		uri     s3config.URI
		version string
		put     bool
		is      error
		text    string
	}{
		{name: "no such key", ctx: ctx, uri: s3config.URI{Bucket: "cfg", Key: "missing.yaml"}, is: s3config.ErrNotFound, text: "s3config: get s3://cfg/missing.yaml: no such bucket or object"},
		{name: "no such key, conditional", ctx: ctx, uri: s3config.URI{Bucket: "cfg", Key: "missing.yaml"}, version: `"abc"`, is: s3config.ErrNotFound, text: "s3config: get s3://cfg/missing.yaml"},
		{name: "no such bucket", ctx: ctx, uri: s3config.URI{Bucket: "nope", Key: "k"}, is: s3config.ErrNotFound, text: "s3config: get s3://nope/k"},
		{name: "put to a missing bucket", ctx: ctx, uri: s3config.URI{Bucket: "nope", Key: "k"}, put: true, is: s3config.ErrNotFound, text: "s3config: put s3://nope/k"},
		{name: "context ended", ctx: canceled, uri: s3config.URI{Bucket: "cfg", Key: "k"}, is: context.Canceled, text: "s3config: get s3://cfg/k: context canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := s3config.New(client, tc.uri)
			var err error
			if tc.put {
				_, err = src.Put(tc.ctx, []byte("x"))
			} else {
				_, err = src.Fetch(tc.ctx, tc.version)
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.is)
			assert.True(t, strings.HasPrefix(err.Error(), tc.text), "got %q, want prefix %q", err.Error(), tc.text)
			assert.Nil(t, errors.Unwrap(errors.Unwrap(err)), "only the sentinel is wrapped: %#v", err)
		})
	}
}

// TestNewClientPathStyle: with an endpoint the client addresses buckets
// path-style (gofakes3 serves nothing else here).
func TestNewClientPathStyle(t *testing.T) {
	srv := s3test.NewServer(t)
	c := srv.Client(t)
	assert.True(t, c.Options().UsePathStyle)
	assert.Equal(t, srv.URL, aws.ToString(c.Options().BaseEndpoint))
	_, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{})
	require.NoError(t, err)

	c2, err := awsload.S3(context.Background(), s3config.ClientConfig{Region: "eu-west-1"})
	require.NoError(t, err)
	assert.False(t, c2.Options().UsePathStyle, "AWS itself: virtual-hosted style")
}
