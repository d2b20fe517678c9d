// Command checklocal checks, through the AWS SDK, what `make deploy-local`
// created on an emulator (LocalStack, or moto_server in make test): the
// table (keys, index, billing), every function of the environment (runtime,
// handler, table variable), the schedules (rate, target, retry policy,
// dead-letter queue) and their queues, Mason's state machine (Standard,
// the document's Task states, the dispatcher's variable), the config
// bucket (versioning) with the config object, and with credentials
// (CHECK_AUTH=basic|iam, as the deployment's -c auth=) the credentials
// secret holding the placeholder and named by exactly the API functions'
// BOSKOS_CREDENTIALS_SECRET.
//
//	go run ./cmd/checklocal -endpoint http://localhost:4566 -env dev
//
// Resources are found through CloudFormation's DescribeStackResources
// (logical id -> physical id) and the synthesized template in cdk.out.
// Emulator gaps are reported as "gap:" lines, not failures, when the
// check has a substitute: moto does not run the BucketDeployment's Lambda
// function, so without the object the asset it would copy is checked to
// hold the environment's resources file. Exit status 1 on any failure.
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/infra/stack"
)

type checker struct {
	ctx      context.Context
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	failures int
}

func (c *checker) fail(format string, args ...any) {
	c.failures++
	fmt.Printf("FAIL: "+format+"\n", args...)
}

func (c *checker) ok(format string, args ...any) { fmt.Printf("ok: "+format+"\n", args...) }

// stackResource is one row of DescribeStackResources.
type stackResource struct {
	LogicalResourceID  string `xml:"LogicalResourceId"`
	PhysicalResourceID string `xml:"PhysicalResourceId"`
	ResourceType       string `xml:"ResourceType"`
	ResourceStatus     string `xml:"ResourceStatus"`
}

// describeStackResources calls CloudFormation's query API directly (one
// signed POST): the SDK's CloudFormation module needs a newer SDK core
// than the rest of the project pins.
func (c *checker) describeStackResources(name string) ([]stackResource, error) {
	body := url.Values{"Action": {"DescribeStackResources"}, "Version": {"2010-05-15"}, "StackName": {name}}.Encode()
	req, err := http.NewRequestWithContext(c.ctx, http.MethodPost, c.endpoint+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	cr, err := c.creds.Retrieve(c.ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256Hex(body)
	if err := v4.NewSigner().SignHTTP(c.ctx, cr, req, sum, "cloudformation", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("DescribeStackResources %s: %s: %s", name, resp.Status, raw)
	}
	var out struct {
		Members []stackResource `xml:"DescribeStackResourcesResult>StackResources>member"`
	}
	if err := xml.Unmarshal(raw, &out); err != nil {
		return nil, err
	}
	return out.Members, nil
}

func main() {
	endpoint := flag.String("endpoint", os.Getenv("AWS_ENDPOINT_URL"), "emulator endpoint")
	env := flag.String("env", "dev", "environment")
	region := flag.String("region", "us-east-1", "region")
	out := flag.String("cdk-out", "cdk.out", "the cloud assembly deploy-local wrote (its template is read)")
	flag.Parse()
	root, _ := filepath.Abs("..")
	settings, err := stack.Lookup(*env)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if v := os.Getenv("CHECK_AUTH"); v != "" {
		if settings.Auth, err = stack.ParseAuthMode(v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if v := os.Getenv("CHECK_JANITOR_TARGETS"); v != "" {
		if settings.JanitorTargets, err = stack.ParseJanitorTargets(v); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	c := &checker{ctx: context.Background(), endpoint: strings.TrimRight(*endpoint, "/"), region: *region,
		creds: credentials.NewStaticCredentialsProvider("test", "test", "")}
	if err := c.run(root, *out, settings); err != nil {
		c.fail("%v", err)
	}
	if c.failures > 0 {
		fmt.Printf("checklocal: %d failures\n", c.failures)
		os.Exit(1)
	}
	fmt.Println("checklocal: ok")
}

func (c *checker) run(root, out string, s stack.Settings) error {
	raw, err := os.ReadFile(filepath.Join(out, s.StackName+".template.json"))
	if err != nil {
		return fmt.Errorf("synthesized template: %w", err)
	}
	var tpl struct {
		Resources map[string]struct {
			Type       string         `json:"Type"`
			Properties map[string]any `json:"Properties"`
		} `json:"Resources"`
	}
	if err := json.Unmarshal(raw, &tpl); err != nil {
		return err
	}
	res, err := c.describeStackResources(s.StackName)
	if err != nil {
		return err
	}
	phys := map[string]string{}
	for _, r := range res {
		if r.LogicalResourceID != "" && r.PhysicalResourceID != "" {
			phys[r.LogicalResourceID] = r.PhysicalResourceID
		}
	}
	// find returns the physical id of the resource of type typ whose
	// logical id is prefix + CDK's 8-digit hash.
	find := func(typ, prefix string) (logical, physical string) {
		re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9A-F]{8}$")
		for id, r := range tpl.Resources {
			if r.Type == typ && re.MatchString(id) {
				return id, phys[id]
			}
		}
		return "", ""
	}
	var skipped []string
	for id, r := range tpl.Resources {
		if phys[id] == "" {
			skipped = append(skipped, r.Type)
		}
	}
	slices.Sort(skipped)
	fmt.Printf("gap: resources the emulator created nothing for: %v\n", slices.Compact(skipped))

	cfg := aws.Config{Region: c.region, Credentials: c.creds, BaseEndpoint: aws.String(c.endpoint)}

	// The table.
	_, table := find("AWS::DynamoDB::Table", "Table")
	if table == "" {
		c.fail("table: not created")
	} else {
		out, err := dynamodb.NewFromConfig(cfg).DescribeTable(c.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			c.fail("table %s: %v", table, err)
		} else {
			t := out.Table
			keys := func(ks any) string { b, _ := json.Marshal(ks); return string(b) }
			want := fmt.Sprintf(`[{"AttributeName":%q,"KeyType":"HASH"},{"AttributeName":%q,"KeyType":"RANGE"}]`, deploy.AttrPK, deploy.AttrSK)
			if got := keys(t.KeySchema); got != want {
				c.fail("table keys %s, want %s", got, want)
			}
			wantIx := fmt.Sprintf(`[{"AttributeName":%q,"KeyType":"HASH"},{"AttributeName":%q,"KeyType":"RANGE"}]`, deploy.AttrIndexPartition, deploy.AttrIndexSortKey)
			if len(t.GlobalSecondaryIndexes) != 1 || aws.ToString(t.GlobalSecondaryIndexes[0].IndexName) != deploy.IndexPool ||
				keys(t.GlobalSecondaryIndexes[0].KeySchema) != wantIx {
				c.fail("table index: got %s, want %s %s", keys(t.GlobalSecondaryIndexes), deploy.IndexPool, wantIx)
			}
			if t.BillingModeSummary == nil || string(t.BillingModeSummary.BillingMode) != deploy.BillingMode {
				c.fail("table billing: got %+v, want %s", t.BillingModeSummary, deploy.BillingMode)
			}
			c.ok("table %s: keys %s/%s, index %s, %s", table, deploy.AttrPK, deploy.AttrSK, deploy.IndexPool, deploy.BillingMode)
		}
	}

	// Every function.
	lc := lambda.NewFromConfig(cfg)
	fnARN := map[string]string{}
	fnEnv := map[string]map[string]string{}
	var archGaps []string
	defer func() {
		if len(archGaps) > 0 {
			fmt.Printf("gap: functions not on arm64 (the template says arm64; moto ignores Architectures): %v\n", archGaps)
		}
	}()
	for _, f := range stack.Enabled(s) {
		_, name := find("AWS::Lambda::Function", stack.FunctionID(f.Name))
		if name == "" {
			c.fail("function %s: not created", f.Name)
			continue
		}
		out, err := lc.GetFunction(c.ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			c.fail("function %s: %v", f.Name, err)
			continue
		}
		fc := out.Configuration
		fnARN[f.Name] = aws.ToString(fc.FunctionArn)
		if fc.Environment != nil {
			fnEnv[f.Name] = fc.Environment.Variables
		}
		if string(fc.Runtime) != "provided.al2023" || aws.ToString(fc.Handler) != "bootstrap" {
			c.fail("function %s: runtime %s handler %s", f.Name, fc.Runtime, aws.ToString(fc.Handler))
		}
		if fc.Environment == nil || fc.Environment.Variables[deploy.EnvTable] != table {
			c.fail("function %s: %s is not the table %s", f.Name, deploy.EnvTable, table)
		}
		if len(fc.Architectures) == 0 || string(fc.Architectures[0]) != "arm64" {
			archGaps = append(archGaps, f.Name)
		}
		c.ok("function %s: %s, provided.al2023, %s=%s", f.Name, name, deploy.EnvTable, table)
	}

	// The credentials secret and who reads it.
	if s.Auth.HasCredentials() {
		c.checkSecret(cfg, find, fnEnv, s)
	}

	// Schedules and their dead-letter queues.
	eb := eventbridge.NewFromConfig(cfg)
	sq := sqs.NewFromConfig(cfg)
	for _, f := range stack.Enabled(s) {
		if f.Kind != deploy.Job {
			continue
		}
		_, rule := find("AWS::Events::Rule", stack.FunctionID(f.Name)+"Schedule")
		_, queue := find("AWS::SQS::Queue", stack.FunctionID(f.Name)+"ScheduleDLQ")
		if rule == "" || queue == "" {
			c.fail("schedule %s: rule %q, queue %q", f.Name, rule, queue)
			continue
		}
		qa, err := sq.GetQueueAttributes(c.ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queue),
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			c.fail("schedule %s: queue %s: %v", f.Name, queue, err)
			continue
		}
		qarn := qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
		r, err := eb.DescribeRule(c.ctx, &eventbridge.DescribeRuleInput{Name: aws.String(rule)})
		if err != nil {
			c.fail("schedule %s: rule %s: %v", f.Name, rule, err)
			continue
		}
		if !strings.HasPrefix(aws.ToString(r.ScheduleExpression), "rate(") {
			c.fail("schedule %s: expression %q", f.Name, aws.ToString(r.ScheduleExpression))
		}
		ts, err := eb.ListTargetsByRule(c.ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(rule)})
		if err != nil || len(ts.Targets) != 1 {
			c.fail("schedule %s: targets %v %v", f.Name, ts, err)
			continue
		}
		tg := ts.Targets[0]
		if aws.ToString(tg.Arn) != fnARN[f.Name] {
			c.fail("schedule %s: target %s, want %s", f.Name, aws.ToString(tg.Arn), fnARN[f.Name])
		}
		if tg.DeadLetterConfig == nil || aws.ToString(tg.DeadLetterConfig.Arn) != qarn {
			c.fail("schedule %s: dead-letter queue %+v, want %s", f.Name, tg.DeadLetterConfig, qarn)
		}
		if tg.RetryPolicy == nil || aws.ToInt32(tg.RetryPolicy.MaximumRetryAttempts) != int32(s.ScheduleRetries) {
			c.fail("schedule %s: retry policy %+v, want %d retries", f.Name, tg.RetryPolicy, s.ScheduleRetries)
		}
		c.ok("schedule %s: %s %s -> function, DLQ %s", f.Name, rule, aws.ToString(r.ScheduleExpression), qarn)
	}

	// Mason's state machine.
	_, machine := find("AWS::StepFunctions::StateMachine", "MasonStateMachine")
	c.checkMason(cfg, machine, fnARN)

	// The config bucket and its object.
	_, bucket := find("AWS::S3::Bucket", "Config")
	if bucket == "" {
		c.fail("config bucket: not created")
		return nil
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	v, err := s3c.GetBucketVersioning(c.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	switch {
	case err != nil:
		c.fail("config bucket %s: versioning: %v", bucket, err)
	case string(v.Status) != "Enabled":
		fmt.Printf("gap: config bucket %s: versioning %q (the template enables it; moto ignores VersioningConfiguration)\n", bucket, v.Status)
	default:
		c.ok("config bucket %s: versioned", bucket)
	}
	want, err := os.ReadFile(filepath.Join(root, s.ConfigFile))
	if err != nil {
		return err
	}
	obj, err := s3c.GetObject(c.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(deploy.ConfigKey)})
	if err == nil {
		got, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		if !bytes.Equal(got, want) {
			c.fail("config object s3://%s/%s differs from %s", bucket, deploy.ConfigKey, s.ConfigFile)
		}
		c.ok("config object s3://%s/%s = %s", bucket, deploy.ConfigKey, s.ConfigFile)
		return nil
	}
	// moto marks the BucketDeployment custom resource complete without
	// running its Lambda function: check the asset it would copy instead.
	fmt.Printf("gap: config object s3://%s/%s absent: the emulator did not run the BucketDeployment's function (%v)\n", bucket, deploy.ConfigKey, err)
	for _, r := range tpl.Resources {
		if r.Type != "Custom::CDKBucketDeployment" {
			continue
		}
		keys, _ := r.Properties["SourceObjectKeys"].([]any)
		if len(keys) != 1 {
			c.fail("BucketDeployment: source keys %v", keys)
			return nil
		}
		assets := fmt.Sprintf("cdk-hnb659fds-assets-%s-%s", accountOf(fnARN), c.region)
		zo, err := s3c.GetObject(c.ctx, &s3.GetObjectInput{Bucket: aws.String(assets), Key: aws.String(fmt.Sprint(keys[0]))})
		if err != nil {
			c.fail("BucketDeployment asset s3://%s/%v: %v", assets, keys[0], err)
			return nil
		}
		zb, _ := io.ReadAll(zo.Body)
		zo.Body.Close()
		zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
		if err != nil {
			c.fail("BucketDeployment asset: %v", err)
			return nil
		}
		for _, zf := range zr.File {
			if zf.Name != deploy.ConfigKey {
				continue
			}
			rc, _ := zf.Open()
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, want) {
				c.fail("BucketDeployment asset %s differs from %s", deploy.ConfigKey, s.ConfigFile)
				return nil
			}
			c.ok("config bucket %s: the BucketDeployment's asset s3://%s/%v holds %s = %s", bucket, assets, keys[0], deploy.ConfigKey, s.ConfigFile)
			return nil
		}
		c.fail("BucketDeployment asset has no %s", deploy.ConfigKey)
		return nil
	}
	c.fail("no BucketDeployment in the template")
	return nil
}

// checkSecret: the credentials secret exists with the placeholder, and the
// API functions' BOSKOS_CREDENTIALS_SECRET (only theirs) is its ARN.
func (c *checker) checkSecret(cfg aws.Config, find func(typ, prefix string) (string, string), fnEnv map[string]map[string]string, s stack.Settings) {
	_, secret := find("AWS::SecretsManager::Secret", stack.SecretID)
	if secret == "" {
		c.fail("credentials secret: not created (auth %s)", s.Auth)
		return
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(c.ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret)})
	if err != nil {
		c.fail("credentials secret %s: %v", secret, err)
		return
	}
	if aws.ToString(out.SecretString) != stack.CredentialsPlaceholder {
		c.fail("credentials secret %s: not the placeholder", secret)
	}
	arn := aws.ToString(out.ARN)
	for _, f := range stack.Enabled(s) {
		got := fnEnv[f.Name][deploy.EnvCredentialsSecret]
		switch {
		case f.ReadsCredentials && got != arn && got != secret:
			c.fail("function %s: %s=%q, want the secret %s", f.Name, deploy.EnvCredentialsSecret, got, arn)
		case !f.ReadsCredentials && got != "":
			c.fail("function %s: a job with %s=%q", f.Name, deploy.EnvCredentialsSecret, got)
		}
	}
	c.ok("credentials secret %s: the placeholder; %s of the API functions only", arn, deploy.EnvCredentialsSecret)
}

// accountOf returns the account of the first function ARN.
func accountOf(arns map[string]string) string {
	for _, a := range arns {
		if parts := strings.Split(a, ":"); len(parts) > 4 {
			return parts[4]
		}
	}
	return "123456789012"
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
