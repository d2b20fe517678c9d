package dynamotest_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/awsload"
	"github.com/boskos-serverless/boskos/core/store"
	"github.com/boskos-serverless/boskos/core/store/dynamostore"
	"github.com/boskos-serverless/boskos/core/store/dynamostore/dynamotest"
)

// helperEnv selects a helper mode of this test binary (see TestMain).
const helperEnv = "DYNAMOTEST_HELPER"

// exitTB is the testing.TB of the helper modes: Endpoint only calls Helper
// and Fatalf.
type exitTB struct{ testing.TB }

func (exitTB) Helper() {}
func (exitTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(3)
}

// TestMain runs the tests, or, in a helper mode, starts DynamoDB Local the
// way a test binary does, prints its URL and ends: through Main ("main") or
// abruptly without cleanup ("crash").
func TestMain(m *testing.M) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		dynamotest.Main(m)
		return
	}
	url := dynamotest.Endpoint(exitTB{})
	if err := ping(url); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	fmt.Println(url)
	if mode == "crash" {
		os.Exit(0)
	}
	dynamotest.Main(m) // runs no tests (-test.run=^$), then stops DynamoDB Local
}

// ping makes one DynamoDB request to url.
func ping(url string) error {
	c, err := awsload.DynamoDB(context.Background(), dynamostore.ClientConfig{
		Region: "us-east-1", Endpoint: url, MaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.ListTables(ctx, &dynamodb.ListTablesInput{})
	return err
}

// startHelper runs this test binary in a helper mode without
// DYNAMODB_ENDPOINT, so that it starts its own DynamoDB Local, and returns
// the URL it printed once it has exited.
func startHelper(t *testing.T, mode string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, dynamotest.EnvEndpoint+"=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "helper: %s", stderr.String())
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	var url string
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "http://") {
			url = sc.Text()
		}
	}
	require.NotEmpty(t, url, "helper printed no URL: %q", out)
	return url
}

// TestOwnDynamoDBLocalStoppedByMain: without DYNAMODB_ENDPOINT a test binary
// starts DynamoDB Local, and Main stops it.
func TestOwnDynamoDBLocalStoppedByMain(t *testing.T) {
	url := startHelper(t, "main")
	assert.Error(t, ping(url), "DynamoDB Local at %s still answers after Main", url)
}

// TestOwnDynamoDBLocalStoppedWhenBinaryDies: the script's watchdog stops
// DynamoDB Local when the test binary exits without Main.
func TestOwnDynamoDBLocalStoppedWhenBinaryDies(t *testing.T) {
	url := startHelper(t, "crash")
	var err error
	for range 120 { // the watchdog checks every second
		if err = ping(url); err != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	assert.Error(t, err, "DynamoDB Local at %s still answers after its test binary died", url)
}

// TestNewTable: each call gives a fresh, usable table that is deleted when
// the test ends.
func TestNewTable(t *testing.T) {
	var names []string
	var client *dynamodb.Client
	t.Run("tables", func(t *testing.T) {
		c1, n1 := dynamotest.NewTable(t)
		_, n2 := dynamotest.NewTable(t)
		require.NotEqual(t, n1, n2)
		names = []string{n1, n2}
		client = c1
		s := dynamostore.New(c1, n1, dynamostore.Options{})
		_, err := s.Create(t.Context(), store.Item{Key: "a/b"})
		require.NoError(t, err)
	})
	out, err := client.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	require.NoError(t, err)
	for _, n := range names {
		assert.NotContains(t, out.TableNames, n, "table not deleted")
	}
}

// TestCounter counts requests per operation, retries included.
func TestCounter(t *testing.T) {
	t.Run("DynamoDB Local", func(t *testing.T) {
		var n dynamotest.Counter
		client, table := dynamotest.NewTable(t, n.Option)
		n.Reset()
		s := dynamostore.New(client, table, dynamostore.Options{})
		_, err := s.Create(t.Context(), store.Item{Key: "a/b"})
		require.NoError(t, err)
		_, err = s.Get(t.Context(), "a/b")
		require.NoError(t, err)
		_, err = s.Get(t.Context(), "a/c")
		require.ErrorIs(t, err, store.ErrNotFound)
		assert.Equal(t, map[string]int{"PutItem": 1, "GetItem": 2}, n.Counts())
		assert.Equal(t, 2, n.Count("GetItem"))
		assert.Equal(t, 3, n.Total())
		n.Reset()
		assert.Equal(t, 0, n.Total())
	})
	t.Run("retries count", func(t *testing.T) {
		var calls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}`)
				return
			}
			_, _ = io.WriteString(w, `{"TableNames":[]}`)
		}))
		defer srv.Close()
		var n dynamotest.Counter
		c, err := awsload.DynamoDB(t.Context(), dynamostore.ClientConfig{
			Region: "us-east-1", Endpoint: srv.URL, MaxBackoff: time.Millisecond,
			Credentials:   credentials.NewStaticCredentialsProvider("k", "s", ""),
			ClientOptions: []func(*dynamodb.Options){n.Option},
		})
		require.NoError(t, err)
		_, err = c.ListTables(t.Context(), &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		require.NoError(t, err)
		assert.Equal(t, map[string]int{"ListTables": 2}, n.Counts())
	})
}

// TestMeter counts, through the proxy, every request by operation and the
// ones whose condition failed.
func TestMeter(t *testing.T) {
	m, proxy := dynamotest.NewMeter(t, dynamotest.Endpoint(t))
	client, table := dynamotest.NewTable(t, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(proxy) })
	s := dynamostore.New(client, table, dynamostore.Options{})
	m.Reset()
	_, err := s.Create(t.Context(), store.Item{Key: "a/b"})
	require.NoError(t, err)
	_, err = s.Create(t.Context(), store.Item{Key: "a/b"})
	require.ErrorIs(t, err, store.ErrExists)
	_, err = s.Get(t.Context(), "a/b")
	require.NoError(t, err)
	requests, failed := m.Snapshot()
	assert.Equal(t, map[string]int{"PutItem": 2, "GetItem": 1}, requests)
	assert.Equal(t, map[string]int{"PutItem": 1}, failed)
	m.Reset()
	requests, failed = m.Snapshot()
	assert.Empty(t, requests)
	assert.Empty(t, failed)
}
