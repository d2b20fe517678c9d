package stack

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
)

// AuthMode is how the service authenticates callers.
type AuthMode string

const (
	// AuthNone: no credentials; anyone who reaches the API may act as any
	// owner (upstream Boskos's behaviour; for development).
	AuthNone AuthMode = "none"
	// AuthBasic: the API functions check HTTP Basic credentials (what the
	// upstream Go client and boskosctl send) against the credentials file
	// in the stack's secret; the HTTP API itself lets requests through.
	AuthBasic AuthMode = "basic"
	// AuthIAM: the HTTP API requires SigV4-signed requests
	// (execute-api:Invoke), and the API functions map the verified IAM
	// caller to owners and a role with the credentials file in the stack's
	// secret (principals[].iam).
	AuthIAM AuthMode = "iam"
)

// AuthModes are the valid modes.
var AuthModes = []AuthMode{AuthNone, AuthBasic, AuthIAM}

// DefaultHistoryRetention is the history's retention unless an
// environment sets one (core/ranch's default).
const DefaultHistoryRetention = 30 * 24 * time.Hour

func (s Settings) historyRetention() time.Duration {
	if s.HistoryRetention <= 0 {
		return DefaultHistoryRetention
	}
	return s.HistoryRetention
}

// HasCredentials reports whether m needs the credentials secret.
func (m AuthMode) HasCredentials() bool { return m == AuthBasic || m == AuthIAM }

// ParseAuthMode reads an auth mode (the -c auth=... context).
func ParseAuthMode(s string) (AuthMode, error) {
	for _, m := range AuthModes {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("auth mode %q: want one of %v", s, AuthModes)
}

// JanitorTarget is who cleans the resources of one type: exactly one of
// Webhook (an http(s) URL POSTed the resource) and Function (a Lambda
// function name or ARN invoked with it) is set. It is written into
// BOSKOS_JANITOR_TARGETS as TYPE=TARGET.
type JanitorTarget struct {
	Type     string
	Webhook  string
	Function string
}

// Alarms are the thresholds of the CloudWatch alarms: an alarm fires when
// the metric's sum over one period (5 minutes) is at least the threshold.
type Alarms struct {
	// FunctionErrors: invocation errors of one function.
	FunctionErrors float64
	// FunctionThrottles: throttled invocations of one function.
	FunctionThrottles float64
	// TableThrottles: throttled read and write events of the table.
	TableThrottles float64
	// TableSystemErrors: DynamoDB system errors (HTTP 500s).
	TableSystemErrors float64
	// DLQDepth: messages waiting in a schedule's dead-letter queue.
	DLQDepth float64
	// API5xx: 5xx answers of the HTTP API.
	API5xx float64
	// Quarantined: resources the janitor has quarantined (the EMF metric
	// Quarantined, its maximum over one period; only with a janitor).
	Quarantined float64
}

// Settings are everything that differs between environments. Environments
// holds one per environment: that table is the only place to change them.
type Settings struct {
	// Env is the environment's name (-c env=...).
	Env string
	// StackName is the CloudFormation stack's name.
	StackName string
	// ConfigFile is the resources file (relative to the repository root)
	// uploaded to the config bucket at deploy.
	ConfigFile string

	// Schedules are the rates of the maintenance jobs, by function name.
	Schedules map[string]time.Duration
	// ScheduleRetries and ScheduleMaxEventAge bound EventBridge's delivery
	// retries to a job before the event goes to the job's dead-letter queue.
	ScheduleRetries     int
	ScheduleMaxEventAge time.Duration

	// APIMemoryMB and JobMemoryMB are the functions' memory.
	APIMemoryMB, JobMemoryMB int
	// APITimeout and JobTimeout are the functions' timeouts.
	APITimeout, JobTimeout time.Duration
	// APIReservedConcurrency caps each API function's concurrency (0 =
	// unreserved), so a flood of clients cannot turn into unbounded
	// conditional-write contention on the table (and leaves account
	// concurrency for the jobs). JobReservedConcurrency caps each job.
	APIReservedConcurrency, JobReservedConcurrency int

	// HistoryRetention is how long the history writer keeps records (their
	// ttl; 0: DefaultHistoryRetention).
	HistoryRetention time.Duration
	// LogRetention is the retention of the functions' logs and the API's
	// access log.
	LogRetention awslogs.RetentionDays
	// LogLevel is BOSKOS_LOG_LEVEL.
	LogLevel string
	// RequestTTL is BOSKOS_REQUEST_TTL.
	RequestTTL time.Duration
	// ReaperExpire and ReaperTargetState configure the reaper.
	ReaperExpire      time.Duration
	ReaperTargetState string
	// JanitorTargets; none means no janitor function and no schedule for
	// it (it would have nothing to do). Lambda targets are granted
	// lambda:InvokeFunction.
	JanitorTargets []JanitorTarget
	// JanitorMaxFailures is BOSKOS_JANITOR_MAX_FAILURES.
	JanitorMaxFailures int

	// Auth is how callers are authenticated: with basic or iam the stack
	// creates the credentials secret, grants the API functions
	// secretsmanager:GetSecretValue on it and sets their
	// BOSKOS_CREDENTIALS_SECRET; with iam the HTTP API also requires
	// SigV4 (IAM authorization) on every route.
	Auth AuthMode
	// ThrottleRate (requests per second, steady) and ThrottleBurst are the
	// $default stage's throttling.
	ThrottleRate  float64
	ThrottleBurst int

	// Alarms are the alarm thresholds.
	Alarms Alarms
	// AlarmEmail, if set, is subscribed to the alarm topic.
	AlarmEmail string

	// Mason are Mason's settings (its dispatcher's rate is in Schedules).
	Mason MasonSettings

	// Retain keeps the table, the config bucket and the log groups when
	// the stack is deleted or they are replaced (RETAIN), and turns on the
	// table's deletion protection. Without it they are destroyed with the
	// stack.
	Retain bool
}

// Environments are the settings of every environment.
var Environments = map[string]Settings{
	"dev": {
		Env: "dev", StackName: "boskos-dev", ConfigFile: "config/dev.yaml",
		Schedules: map[string]time.Duration{
			"reaper": 5 * time.Minute, "reconciler": 5 * time.Minute, "cleaner": 5 * time.Minute, "janitor": 5 * time.Minute,
			"mason-dispatch": 2 * time.Minute,
		},
		ScheduleRetries: 2, ScheduleMaxEventAge: 10 * time.Minute,
		APIMemoryMB: 256, JobMemoryMB: 256, APITimeout: 10 * time.Second, JobTimeout: 60 * time.Second,
		LogRetention: awslogs.RetentionDays_ONE_WEEK, LogLevel: "debug", RequestTTL: 30 * time.Second,
		ReaperExpire: 30 * time.Minute, ReaperTargetState: "dirty", JanitorMaxFailures: 3,
		Auth: AuthNone, ThrottleRate: 50, ThrottleBurst: 100,
		Alarms: Alarms{FunctionErrors: 5, FunctionThrottles: 5, TableThrottles: 10, TableSystemErrors: 1, DLQDepth: 1, API5xx: 10, Quarantined: 1},
		Mason: MasonSettings{LogLevel: awsstepfunctions.LogLevel_ALL, LogExecutionData: true, Tracing: true, Wait: 15 * time.Second,
			ExecutionsFailed: 5, ExecutionsTimedOut: 1},
	},
	"staging": {
		Env: "staging", StackName: "boskos-staging", ConfigFile: "config/staging.yaml",
		Schedules: map[string]time.Duration{
			"reaper": time.Minute, "reconciler": 2 * time.Minute, "cleaner": 2 * time.Minute, "janitor": time.Minute,
			"mason-dispatch": time.Minute,
		},
		ScheduleRetries: 2, ScheduleMaxEventAge: 5 * time.Minute,
		APIMemoryMB: 256, JobMemoryMB: 512, APITimeout: 10 * time.Second, JobTimeout: 120 * time.Second,
		JobReservedConcurrency: 2,
		LogRetention:           awslogs.RetentionDays_ONE_MONTH, LogLevel: "info", RequestTTL: 30 * time.Second,
		ReaperExpire: 30 * time.Minute, ReaperTargetState: "dirty", JanitorMaxFailures: 3,
		Auth: AuthBasic, ThrottleRate: 100, ThrottleBurst: 200,
		Alarms: Alarms{FunctionErrors: 3, FunctionThrottles: 3, TableThrottles: 5, TableSystemErrors: 1, DLQDepth: 1, API5xx: 5, Quarantined: 1},
		Mason: MasonSettings{LogLevel: awsstepfunctions.LogLevel_ALL, Tracing: true, Wait: 15 * time.Second,
			ExecutionsFailed: 3, ExecutionsTimedOut: 1},
	},
	"prod": {
		Env: "prod", StackName: "boskos-prod", ConfigFile: "config/prod.yaml",
		Schedules: map[string]time.Duration{
			"reaper": time.Minute, "reconciler": time.Minute, "cleaner": time.Minute, "janitor": time.Minute,
			"mason-dispatch": time.Minute,
		},
		ScheduleRetries: 3, ScheduleMaxEventAge: 5 * time.Minute,
		APIMemoryMB: 512, JobMemoryMB: 512, APITimeout: 10 * time.Second, JobTimeout: 300 * time.Second,
		APIReservedConcurrency: 50, JobReservedConcurrency: 2,
		LogRetention: awslogs.RetentionDays_THREE_MONTHS, LogLevel: "info", RequestTTL: 30 * time.Second,
		ReaperExpire: 30 * time.Minute, ReaperTargetState: "dirty", JanitorMaxFailures: 3,
		Auth: AuthIAM, ThrottleRate: 500, ThrottleBurst: 1000,
		Alarms: Alarms{FunctionErrors: 1, FunctionThrottles: 1, TableThrottles: 1, TableSystemErrors: 1, DLQDepth: 1, API5xx: 1, Quarantined: 1},
		Mason: MasonSettings{LogLevel: awsstepfunctions.LogLevel_ALL, Tracing: true, Wait: 15 * time.Second,
			ExecutionsFailed: 1, ExecutionsTimedOut: 1},
		Retain: true,
	},
}

// EnvNames returns the environments' names, sorted.
func EnvNames() []string {
	out := make([]string, 0, len(Environments))
	for n := range Environments {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the settings of environment env.
func Lookup(env string) (Settings, error) {
	s, ok := Environments[env]
	if !ok {
		return Settings{}, fmt.Errorf("unknown environment %q (use -c env=%v)", env, EnvNames())
	}
	return s, nil
}

// ParseJanitorTargets reads TYPE=TARGET,... (BOSKOS_JANITOR_TARGETS'
// syntax; the -c janitorTargets=... context of a deployment whose cleaners
// are not in the repository): an http(s) URL is a webhook, anything else a
// Lambda function name or ARN.
func ParseJanitorTargets(s string) ([]JanitorTarget, error) {
	var out []JanitorTarget
	for _, part := range strings.Split(s, ",") {
		typ, target, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || typ == "" || target == "" {
			return nil, fmt.Errorf("janitor target %q: want TYPE=TARGET", part)
		}
		t := JanitorTarget{Type: typ}
		if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
			t.Webhook = target
		} else {
			t.Function = target
		}
		out = append(out, t)
	}
	return out, nil
}
