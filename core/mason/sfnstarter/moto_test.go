package sfnstarter_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/sfnstarter"
	"github.com/boskos-serverless/boskos/core/testkit"
)

// moto is one moto_server (Python moto, preinstalled in this project's
// machine image) for the whole test binary, in execution mode: it runs
// the state machines created through its Step Functions API, with
// .waitForTaskToken tasks over SQS. It cannot run Lambda tasks without
// Docker, hence the SQS callbacks of the second check.
//
// moto 5.2.1 runs one execution per region: after the first
// StartExecution of a region, every later one that would start an
// execution fails with a 500 (the deep copy of the state machine trips
// over the running execution's lock; StartExecution calls answered
// before that, an idempotent repeat or ExecutionAlreadyExists, still
// work). So each execution gets a region of its own (region).
type moto struct {
	endpoint string
	cmd      *exec.Cmd
	regions  atomic.Int32
}

var (
	motoOnce sync.Once
	motoSrv  *moto
	motoErr  error
)

// motoRegions are the regions handed out, one per execution.
var motoRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1",
	"eu-north-1", "eu-south-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
	"ap-southeast-2", "ca-central-1", "sa-east-1", "me-south-1", "af-south-1",
}

func TestMain(m *testing.M) {
	code := m.Run()
	if motoSrv != nil {
		_ = motoSrv.cmd.Process.Kill()
		_ = motoSrv.cmd.Wait()
	}
	os.Exit(code)
}

// motoServer returns the shared moto_server, started on first use; the
// test is skipped when moto_server is not installed.
func motoServer(t *testing.T) *moto {
	t.Helper()
	motoOnce.Do(func() { motoSrv, motoErr = startMoto() })
	if errors.Is(motoErr, exec.ErrNotFound) {
		t.Skipf("moto_server is not installed (it is in this project's machine image): %v", motoErr)
	}
	require.NoError(t, motoErr)
	return motoSrv
}

func startMoto() (*moto, error) {
	bin := ""
	if out, err := exec.Command("pyenv", "which", "moto_server").Output(); err == nil {
		bin = strings.TrimSpace(string(out)) // the server itself, not pyenv's shim
	} else if p, err := exec.LookPath("moto_server"); err == nil {
		bin = p
	} else {
		return nil, fmt.Errorf("moto_server: %w", exec.ErrNotFound)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	logs := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	m := &moto{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(m.endpoint+"/moto-api/config", "application/json",
			strings.NewReader(`{"stepfunctions":{"execute_state_machine":true}}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return m, nil
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("moto_server did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// region returns a region no test has used yet.
func (m *moto) region(t *testing.T) string {
	t.Helper()
	i := int(m.regions.Add(1)) - 1
	require.Less(t, i, len(motoRegions), "moto: out of regions (one per execution)")
	return motoRegions[i]
}

func (m *moto) config(region string) aws.Config {
	return aws.Config{Region: region, BaseEndpoint: aws.String(m.endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

func (m *moto) sfn(region string) *sfn.Client { return sfn.NewFromConfig(m.config(region)) }
func (m *moto) sqs(region string) *sqs.Client { return sqs.NewFromConfig(m.config(region)) }

// createMachine creates a Standard state machine of definition in region.
func (m *moto) createMachine(t *testing.T, region, name, definition string) string {
	t.Helper()
	out, err := m.sfn(region).CreateStateMachine(context.Background(), &sfn.CreateStateMachineInput{
		Name: aws.String(name), Definition: aws.String(definition),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/boskos-mason"),
	})
	require.NoError(t, err)
	return aws.ToString(out.StateMachineArn)
}

// waitEnded waits until the execution ends and returns its status.
func (m *moto) waitEnded(t *testing.T, region, execution string, timeout time.Duration) *sfn.DescribeExecutionOutput {
	t.Helper()
	var out *sfn.DescribeExecutionOutput
	require.Eventually(t, func() bool {
		var err error
		out, err = m.sfn(region).DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(execution)})
		require.NoError(t, err)
		return out.Status != "RUNNING"
	}, timeout, 100*time.Millisecond)
	return out
}

// executionARN is the ARN of the execution name of the state machine arn.
func executionARN(machine, name string) string {
	return strings.Replace(machine, ":stateMachine:", ":execution:", 1) + ":" + name
}

// TestStartOnMoto: the adapter against moto's Step Functions (the real
// SDK client and wire protocol): a start, a repeated start while the
// execution runs (idempotent: one execution), a start once it has ended
// (ErrExecutionEnded), another input under a running name (also
// ExecutionAlreadyExists, so also ErrExecutionEnded: the dispatcher never
// does that), and a state machine that does not exist.
func TestStartOnMoto(t *testing.T) {
	m := motoServer(t)
	ctx := context.Background()
	region := m.region(t)
	machine := m.createMachine(t, region, "wait", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":2,"End":true}}}`)
	s, err := sfnstarter.New(m.sfn(region), machine)
	require.NoError(t, err)
	in := []byte(`{"resource":"c-1","type":"cluster","epoch":3}`)

	require.NoError(t, s.Start(ctx, "c-1-3", in))
	require.NoError(t, s.Start(ctx, "c-1-3", in), "the same name and input while it runs")
	err = s.Start(ctx, "c-1-3", []byte(`{"resource":"c-1","type":"cluster","epoch":4}`))
	assert.ErrorIs(t, err, mason.ErrExecutionEnded, "another input under a running name")
	list, err := m.sfn(region).ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: aws.String(machine)})
	require.NoError(t, err)
	assert.Len(t, list.Executions, 1, "one execution")

	out := m.waitEnded(t, region, executionARN(machine, "c-1-3"), 20*time.Second)
	assert.EqualValues(t, "SUCCEEDED", out.Status)
	err = s.Start(ctx, "c-1-3", in)
	assert.ErrorIs(t, err, mason.ErrExecutionEnded, "the same name once it has ended")

	gone, err := sfnstarter.New(m.sfn(region), strings.Replace(machine, ":wait", ":nope", 1))
	require.NoError(t, err)
	err = gone.Start(ctx, "c-2-1", in)
	require.Error(t, err)
	assert.NotErrorIs(t, err, mason.ErrExecutionEnded)
	assert.Contains(t, err.Error(), "StateMachineDoesNotExist")
}
