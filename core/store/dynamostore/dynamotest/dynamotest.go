package dynamotest

import (
	"context"
	"errors"
	"fmt"
	"github.com/aws/aws-sdk-go-v2/aws"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/uuid"

	"github.com/boskos-serverless/boskos/core/store/dynamostore"
)

// EnvEndpoint is the environment variable naming a running DynamoDB (Local)
// to use instead of starting one.
const EnvEndpoint = "DYNAMODB_ENDPOINT"

// Region is the region the test clients use.
const Region = "us-east-1"

var local struct {
	once     sync.Once
	url      string
	err      error
	started  bool   // this process started DynamoDB Local
	stateDir string // its pid/url/log directory
	script   string
}

// Endpoint returns the URL of DynamoDB for tests: $DYNAMODB_ENDPOINT when
// set, else a DynamoDB Local started (once per test binary) with
// scripts/dynamodb-local.sh. It fails tb when none is available.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	local.once.Do(start)
	if local.err != nil {
		tb.Fatalf("dynamotest: DynamoDB Local is not available: %v", local.err)
	}
	return local.url
}

func start() {
	if u := os.Getenv(EnvEndpoint); u != "" {
		local.url = u
		return
	}
	script, err := findScript()
	if err != nil {
		local.err = err
		return
	}
	dir, err := os.MkdirTemp("", "dynamodb-local-")
	if err != nil {
		local.err = err
		return
	}
	local.script, local.stateDir = script, dir
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "start")
	cmd.Env = append(os.Environ(),
		"DYNAMODB_LOCAL_STATE="+dir,
		"DYNAMODB_LOCAL_PARENT_PID="+strconv.Itoa(os.Getpid()))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		local.err = fmt.Errorf("%s start: %v: %s", script, err, stderr.String())
		return
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		local.err = fmt.Errorf("%s start printed no URL: %s", script, stderr.String())
		return
	}
	local.url = lines[len(lines)-1]
	local.started = true
}

// findScript looks for scripts/dynamodb-local.sh in the working directory
// and its parents (go test runs in the package's directory).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "dynamodb-local.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("scripts/dynamodb-local.sh not found above the working directory; set " + EnvEndpoint)
		}
		dir = parent
	}
}

// Stop stops the DynamoDB Local this process started, if any. Main calls
// it; the script's watchdog also stops it when the process exits.
func Stop() {
	if !local.started {
		return
	}
	cmd := exec.Command(local.script, "stop")
	cmd.Env = append(os.Environ(), "DYNAMODB_LOCAL_STATE="+local.stateDir)
	_ = cmd.Run()
	_ = os.RemoveAll(local.stateDir)
	local.started = false
}

// Main runs the tests and stops DynamoDB Local afterwards. Call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Client returns a client of the test DynamoDB with static credentials and
// short backoff. optFns are applied last (see Counter.Option). It tries an
// operation up to 8 times: on a loaded machine DynamoDB Local answers some
// writes InternalServerError "timed out because it too long waiting for a
// lock" ("This request will succeed in actual DynamoDB API"), a few in a
// row (seen with 5 attempts, in TestHistoryConcurrent).
func Client(tb testing.TB, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	tb.Helper()
	url := Endpoint(tb)
	c, err := newClient(dynamostore.ClientConfig{
		Region:        Region,
		Endpoint:      url,
		MaxAttempts:   8,
		MaxBackoff:    500 * time.Millisecond,
		Credentials:   credentials.NewStaticCredentialsProvider("local", "local", ""),
		ClientOptions: optFns,
	})
	if err != nil {
		tb.Fatalf("dynamotest: client: %v", err)
	}
	return c
}

// newClient is the test client: region and credentials are set, so the
// SDK's configuration loader has nothing to add.
func newClient(cfg dynamostore.ClientConfig) (*dynamodb.Client, error) {
	return dynamostore.NewClientFromConfig(aws.Config{}, cfg), nil
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// TableName returns a unique table name derived from the test's name.
func TableName(tb testing.TB) string {
	n := unsafe.ReplaceAllString(tb.Name(), "_")
	if len(n) > 180 {
		n = n[:180]
	}
	return "t-" + n + "-" + uuid.NewString()[:8]
}

// NewTable creates a fresh table with dynamostore's schema and returns a
// client and its name. The table is deleted when the test ends. optFns
// configure the returned client (e.g. Counter.Option).
func NewTable(tb testing.TB, optFns ...func(*dynamodb.Options)) (*dynamodb.Client, string) {
	tb.Helper()
	c := Client(tb, optFns...)
	name := TableName(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := dynamostore.CreateTable(ctx, c, name); err != nil {
		tb.Fatalf("dynamotest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dynamostore.DeleteTable(ctx, c, name); err != nil {
			tb.Errorf("dynamotest: %v", err)
		}
	})
	return c, name
}

// NewStore returns a dynamostore.Store on a fresh table (see NewTable).
func NewStore(tb testing.TB, opts dynamostore.Options, optFns ...func(*dynamodb.Options)) *dynamostore.Store {
	tb.Helper()
	c, table := NewTable(tb, optFns...)
	return dynamostore.New(c, table, opts)
}
