package stack_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/stretchr/testify/assert"

	"github.com/boskos-serverless/boskos/core/deploy"
	"github.com/boskos-serverless/boskos/core/metrics/emf"
	"github.com/boskos-serverless/boskos/infra/stack"
)

// The checks below take assert.TestingT so that the tests of the tests can
// run them on a broken stack with a recorder and see them fail.

// ref, getAtt build the intrinsic functions the template uses.
func ref(id string) any                   { return map[string]any{"Ref": id} }
func getAtt(id, attr string) any          { return map[string]any{"Fn::GetAtt": []any{id, attr}} }
func same(a, b any) bool                  { return jsonOf(a) == jsonOf(b) }
func jsonOf(v any) string                 { b, _ := json.Marshal(v); return string(b) }
func strs(v any) (out []string)           { return toStrings(v) }
func has(m map[string]any, k string) bool { _, ok := m[k]; return ok }

func toStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// ofType returns the logical ids of the resources of type typ, sorted.
func (s *synthesized) ofType(typ string) []string {
	var out []string
	for id, r := range s.tpl.Resources {
		if r.Type == typ {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

func (s *synthesized) props(id string) map[string]any { return s.tpl.Resources[id].Properties }

// checkTable: the one table is the store's schema (deploy's names), on
// demand, with TTL, the pool index, PITR and encryption; in an environment
// that retains, deletion protection and RETAIN.
func checkTable(t assert.TestingT, s *synthesized) {
	tables := s.ofType("AWS::DynamoDB::Table")
	if !assert.Len(t, tables, 1, "tables") {
		return
	}
	r := s.tpl.Resources[tables[0]]
	p := r.Properties
	assert.Equal(t, deploy.BillingMode, p["BillingMode"])
	var defs []string
	for _, d := range p["AttributeDefinitions"].([]any) {
		m := d.(map[string]any)
		defs = append(defs, fmt.Sprint(m["AttributeName"], ":", m["AttributeType"]))
	}
	var want []string
	for _, a := range deploy.KeyAttributes {
		want = append(want, a+":"+deploy.AttrTypeString)
	}
	assert.ElementsMatch(t, want, defs, "AttributeDefinitions")
	keys := func(v any) string { return jsonOf(v) }
	assert.Equal(t, keys([]any{
		map[string]any{"AttributeName": deploy.AttrPK, "KeyType": "HASH"},
		map[string]any{"AttributeName": deploy.AttrSK, "KeyType": "RANGE"},
	}), keys(p["KeySchema"]), "KeySchema")
	gsis, _ := p["GlobalSecondaryIndexes"].([]any)
	if assert.Len(t, gsis, 1, "GlobalSecondaryIndexes") {
		g := gsis[0].(map[string]any)
		assert.Equal(t, deploy.IndexPool, g["IndexName"])
		assert.Equal(t, keys([]any{
			map[string]any{"AttributeName": deploy.AttrIndexPartition, "KeyType": "HASH"},
			map[string]any{"AttributeName": deploy.AttrIndexSortKey, "KeyType": "RANGE"},
		}), keys(g["KeySchema"]), "index KeySchema")
		assert.Equal(t, deploy.IndexProjection, g["Projection"].(map[string]any)["ProjectionType"])
	}
	assert.Equal(t, jsonOf(map[string]any{"AttributeName": deploy.AttrTTL, "Enabled": true}), jsonOf(p["TimeToLiveSpecification"]), "TTL")
	assert.Equal(t, jsonOf(map[string]any{"StreamViewType": deploy.StreamViewType}), jsonOf(p["StreamSpecification"]), "the history's stream")
	assert.Equal(t, true, p["PointInTimeRecoverySpecification"].(map[string]any)["PointInTimeRecoveryEnabled"], "PITR")
	assert.Equal(t, true, p["SSESpecification"].(map[string]any)["SSEEnabled"], "encryption")
	if s.settings.Retain {
		assert.Equal(t, true, p["DeletionProtectionEnabled"], "deletion protection")
		assert.Equal(t, "Retain", r.DeletionPolicy)
		assert.Equal(t, "Retain", r.UpdateReplacePolicy)
	} else {
		assert.NotEqual(t, true, p["DeletionProtectionEnabled"])
		assert.Equal(t, "Delete", r.DeletionPolicy)
	}
}

// statements returns the statements of every policy attached to role.
func (s *synthesized) statements(role string) []map[string]any {
	var out []map[string]any
	for _, id := range s.ofType("AWS::IAM::Policy") {
		p := s.props(id)
		attached := false
		for _, r := range p["Roles"].([]any) {
			attached = attached || same(r, ref(role))
		}
		if !attached {
			continue
		}
		for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			out = append(out, st.(map[string]any))
		}
	}
	return out
}

// wantActions are the exact actions of function f's role: its DynamoDB
// actions, its logs and X-Ray, s3:GetObject for the reconciler,
// lambda:InvokeFunction for a janitor with Lambda targets,
// secretsmanager:GetSecretValue for the API functions with credentials.
func wantActions(s stack.Settings, f deploy.Function) []string {
	out := append([]string{"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}, f.DynamoDBActions...)
	if f.ReadsCredentials && s.Auth.HasCredentials() {
		out = append(out, deploy.ActGetSecretValue)
	}
	if f.Kind == deploy.Stream {
		out = append(out, deploy.ActSendMessage)
		out = append(out, deploy.StreamActions...)
	}
	switch f.Name {
	case deploy.FnReconciler:
		out = append(out, deploy.ActGetObject)
	case deploy.FnJanitor:
		for _, t := range s.JanitorTargets {
			if t.Function != "" {
				out = append(out, deploy.ActInvokeFunction)
				break
			}
		}
	}
	out = append(out, masonActions(s, f)...)
	sort.Strings(out)
	return out
}

// checkFunctions: every function of the environment is there, on
// provided.al2023/arm64 from its build directory, traced, with its
// settings, environment and an own role granted exactly its actions: the
// DynamoDB actions of deploy.Functions on the table (Query also on the
// pool index), nothing on other resources.
func checkFunctions(t assert.TestingT, s *synthesized) {
	enabled := stack.Enabled(s.settings)
	// One Lambda function per enabled function, plus CDK's own providers.
	assert.Len(t, s.fnIDs, len(enabled), "functions")
	table := getAtt(s.tableID, "Arn")
	index := map[string]any{"Fn::Join": []any{"", []any{table, "/index/" + deploy.IndexPool}}}
	for _, f := range enabled {
		id, ok := s.fnIDs[f.Name]
		if !assert.True(t, ok, "function %s missing", f.Name) {
			continue
		}
		p := s.props(id)
		assert.Equal(t, "provided.al2023", p["Runtime"], "%s runtime", f.Name)
		assert.Equal(t, []string{"arm64"}, strs(p["Architectures"]), "%s architecture", f.Name)
		assert.Equal(t, "bootstrap", p["Handler"], "%s handler", f.Name)
		assert.Equal(t, "Active", p["TracingConfig"].(map[string]any)["Mode"], "%s tracing", f.Name)
		mem, timeout, reserved := s.settings.APIMemoryMB, s.settings.APITimeout, s.settings.APIReservedConcurrency
		if f.Kind != deploy.API {
			mem, timeout, reserved = s.settings.JobMemoryMB, s.settings.JobTimeout, s.settings.JobReservedConcurrency
		}
		if f.Kind == deploy.Step {
			mem, timeout, reserved = stepWant(t, s.settings, f)
		}
		assert.EqualValues(t, mem, p["MemorySize"], "%s memory", f.Name)
		assert.EqualValues(t, timeout.Seconds(), p["Timeout"], "%s timeout", f.Name)
		if reserved > 0 {
			assert.EqualValues(t, reserved, p["ReservedConcurrentExecutions"], "%s reserved concurrency", f.Name)
		} else {
			assert.False(t, has(p, "ReservedConcurrentExecutions"), "%s: reserved concurrency", f.Name)
		}
		vars := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		assert.True(t, same(ref(s.tableID), vars[deploy.EnvTable]), "%s: %s", f.Name, deploy.EnvTable)
		assert.Equal(t, s.settings.LogLevel, vars[deploy.EnvLogLevel], "%s log level", f.Name)
		for _, v := range f.Env {
			if v == deploy.EnvSpreadWindow || v == deploy.EnvReaperExtraStates {
				continue // the functions' defaults
			}
			assert.Contains(t, vars, v, "%s environment", f.Name)
		}
		lg, _ := p["LoggingConfig"].(map[string]any)
		if assert.NotNil(t, lg, "%s log group", f.Name) {
			lgID := lg["LogGroup"].(map[string]any)["Ref"].(string)
			assert.Equal(t, string(s.settings.LogRetention), retentionName(s.props(lgID)["RetentionInDays"]), "%s log retention", f.Name)
		}

		role := s.roleIDs[f.Name]
		assert.True(t, same(getAtt(role, "Arn"), p["Role"]), "%s: own role", f.Name)
		var actions, dynamo []string
		for _, st := range s.statements(role) {
			assert.Equal(t, "Allow", st["Effect"])
			acts := strs(st["Action"])
			actions = append(actions, acts...)
			for _, a := range acts {
				if !strings.HasPrefix(a, "dynamodb:") {
					continue
				}
				res := st["Resource"]
				if slices.Contains(deploy.StreamActions, a) {
					assert.Equal(t, deploy.Stream, f.Kind, "%s: %s, the stream's", f.Name, a)
					okRes := same(res, getAtt(s.tableID, "StreamArn")) || (a == "dynamodb:ListStreams" && res == "*")
					assert.True(t, okRes, "%s: %s on %s, want the table's stream (ListStreams: *, it has no resource-level permissions)", f.Name, a, jsonOf(res))
					continue
				}
				dynamo = append(dynamo, a)
				okRes := same(res, table) || (a == deploy.ActQuery && same(res, index))
				assert.True(t, okRes, "%s: %s on %s, want the table (or the pool index for Query)", f.Name, a, jsonOf(res))
			}
			assert.NotEqual(t, "*", jsonOf(st["Action"]))
		}
		sort.Strings(actions)
		assert.Equal(t, wantActions(s.settings, f), slices.Compact(actions), "%s: the role's actions", f.Name)
		var wantDynamo []string
		for _, a := range f.DynamoDBActions {
			wantDynamo = append(wantDynamo, a)
			if a == deploy.ActQuery {
				wantDynamo = append(wantDynamo, a) // table and index
			}
		}
		sort.Strings(dynamo)
		assert.Equal(t, wantDynamo, dynamo, "%s: DynamoDB grants (Query on the table and on the index)", f.Name)
	}
}

// retentionName maps RetentionInDays to the awslogs enum's name.
func retentionName(v any) string {
	return map[float64]string{7: "ONE_WEEK", 30: "ONE_MONTH", 90: "THREE_MONTHS"}[v.(float64)]
}

// checkRoutes: every route of every API function, at the root ("ANY
// /path", or $default), integrated with its function (payload 2.0), with
// the environment's authorization; the $default stage auto-deploys, is
// throttled and writes access logs.
func checkRoutes(t assert.TestingT, s *synthesized) {
	want := map[string]string{} // route key -> function
	for _, f := range stack.Enabled(s.settings) {
		for _, r := range f.Routes {
			key := "ANY " + r
			if r == deploy.CatchAll {
				key = deploy.CatchAll
			}
			want[key] = f.Name
		}
	}
	got := map[string]string{}
	for _, id := range s.ofType("AWS::ApiGatewayV2::Route") {
		p := s.props(id)
		key := fmt.Sprint(p["RouteKey"])
		assert.True(t, same(ref(s.apiID), p["ApiId"]), "route %s: API", key)
		wantAuth := "NONE"
		if s.settings.Auth == stack.AuthIAM {
			wantAuth = "AWS_IAM"
		}
		assert.Equal(t, wantAuth, p["AuthorizationType"], "route %s: authorization", key)
		target := p["Target"].(map[string]any)["Fn::Join"].([]any)[1].([]any)[1].(map[string]any)["Ref"].(string)
		ip := s.props(target)
		assert.Equal(t, "AWS_PROXY", ip["IntegrationType"], "route %s", key)
		assert.Equal(t, "2.0", ip["PayloadFormatVersion"], "route %s", key)
		for fn, fid := range s.fnIDs {
			if same(ip["IntegrationUri"], getAtt(fid, "Arn")) {
				got[key] = fn
			}
		}
	}
	assert.Equal(t, want, got, "route key -> function")
	stages := s.ofType("AWS::ApiGatewayV2::Stage")
	if assert.Len(t, stages, 1) {
		p := s.props(stages[0])
		assert.Equal(t, "$default", p["StageName"], "the service lives at the host root")
		assert.Equal(t, true, p["AutoDeploy"])
		rs := p["DefaultRouteSettings"].(map[string]any)
		assert.EqualValues(t, s.settings.ThrottleRate, rs["ThrottlingRateLimit"], "throttle rate")
		assert.EqualValues(t, s.settings.ThrottleBurst, rs["ThrottlingBurstLimit"], "throttle burst")
		al, _ := p["AccessLogSettings"].(map[string]any)
		if assert.NotNil(t, al, "access logs") {
			assert.Contains(t, al["Format"], "$context.requestId")
		}
	}
}

// checkSchedules: every job has an EventBridge rule at its rate targeting
// it, with the retry policy and its own encrypted dead-letter queue; the
// function does not retry a failed pass itself.
func checkSchedules(t assert.TestingT, s *synthesized) {
	var jobs []string
	for _, f := range stack.Enabled(s.settings) {
		if f.Kind == deploy.Job {
			jobs = append(jobs, f.Name)
		}
	}
	assert.Len(t, s.ofType("AWS::Events::Rule"), len(jobs), "rules")
	dlqs := map[string]bool{}
	for _, job := range jobs {
		rule, ok := s.ruleIDs[job]
		if !assert.True(t, ok, "%s: no schedule", job) {
			continue
		}
		p := s.props(rule)
		mins := int(s.settings.Schedules[job].Minutes())
		expr := fmt.Sprintf("rate(%d minutes)", mins)
		if mins == 1 {
			expr = "rate(1 minute)"
		}
		assert.Equal(t, expr, p["ScheduleExpression"], "%s rate", job)
		targets := p["Targets"].([]any)
		if !assert.Len(t, targets, 1, "%s targets", job) {
			continue
		}
		tg := targets[0].(map[string]any)
		assert.True(t, same(getAtt(s.fnIDs[job], "Arn"), tg["Arn"]), "%s: target", job)
		rp, _ := tg["RetryPolicy"].(map[string]any)
		if assert.NotNil(t, rp, "%s: retry policy", job) {
			assert.EqualValues(t, s.settings.ScheduleRetries, rp["MaximumRetryAttempts"], "%s retries", job)
			assert.EqualValues(t, s.settings.ScheduleMaxEventAge.Seconds(), rp["MaximumEventAgeInSeconds"], "%s event age", job)
		}
		dl, _ := tg["DeadLetterConfig"].(map[string]any)
		if !assert.NotNil(t, dl, "%s: schedule without a dead-letter queue", job) {
			continue
		}
		q := s.dlqIDs[job]
		assert.True(t, same(getAtt(q, "Arn"), dl["Arn"]), "%s: its own dead-letter queue", job)
		assert.False(t, dlqs[q], "%s: dead-letter queue shared", job)
		dlqs[q] = true
		assert.Equal(t, true, s.props(q)["SqsManagedSseEnabled"], "%s: DLQ encryption", job)
		// EventBridge may send to the queue.
		allowed := false
		for _, qp := range s.ofType("AWS::SQS::QueuePolicy") {
			pp := s.props(qp)
			if jsonOf(pp["Queues"]) == jsonOf([]any{ref(q)}) && strings.Contains(jsonOf(pp["PolicyDocument"]), "events.amazonaws.com") {
				allowed = true
			}
		}
		assert.True(t, allowed, "%s: EventBridge may not send to its DLQ", job)
	}
	for _, id := range s.ofType("AWS::Lambda::EventInvokeConfig") {
		assert.EqualValues(t, 0, s.props(id)["MaximumRetryAttempts"])
	}
}

// checkAlarms: errors and throttles of every function, the table's
// throttles and system errors, each DLQ's depth and the API's 5xx, all to
// the topic, at the environment's thresholds.
func checkAlarms(t assert.TestingT, s *synthesized) {
	type key struct{ metric, target string }
	got := map[key]float64{}
	for _, id := range s.ofType("AWS::CloudWatch::Alarm") {
		p := s.props(id)
		assert.Equal(t, jsonOf([]any{ref(s.topicID)}), jsonOf(p["AlarmActions"]), "alarm %s: action", id)
		if m, ok := p["MetricName"].(string); ok {
			target := ""
			for _, d := range p["Dimensions"].([]any) {
				target += jsonOf(d.(map[string]any)["Value"])
			}
			got[key{m, target}] = p["Threshold"].(float64)
			continue
		}
		// A math expression: name it by its metrics.
		var names []string
		for _, m := range p["Metrics"].([]any) {
			if ms, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
				names = append(names, ms["Metric"].(map[string]any)["MetricName"].(string))
			}
		}
		sort.Strings(names)
		got[key{strings.Join(slices.Compact(names), "+"), "table"}] = p["Threshold"].(float64)
	}
	a := s.settings.Alarms
	want := map[key]float64{
		{"ReadThrottleEvents+WriteThrottleEvents", "table"}: a.TableThrottles,
		{"SystemErrors", "table"}:                           a.TableSystemErrors,
		{"5xx", jsonOf(ref(s.apiID))}:                       a.API5xx,
	}
	if id, ok := s.fnIDs[deploy.FnJanitor]; ok {
		want[key{emf.Quarantined, jsonOf(ref(id))}] = a.Quarantined
	}
	if s.historyQueueID != "" {
		want[key{"ApproximateNumberOfMessagesVisible", jsonOf(getAtt(s.historyQueueID, "QueueName"))}] = a.DLQDepth
	}
	want[key{"ExecutionsFailed", jsonOf(ref(s.machineID))}] = s.settings.Mason.ExecutionsFailed
	want[key{"ExecutionsTimedOut", jsonOf(ref(s.machineID))}] = s.settings.Mason.ExecutionsTimedOut
	for name, id := range s.fnIDs {
		want[key{"Errors", jsonOf(ref(id))}] = a.FunctionErrors
		want[key{"Throttles", jsonOf(ref(id))}] = a.FunctionThrottles
		if q, ok := s.dlqIDs[name]; ok {
			want[key{"ApproximateNumberOfMessagesVisible", jsonOf(getAtt(q, "QueueName"))}] = a.DLQDepth
		}
	}
	assert.Equal(t, want, got, "alarms (metric, dimension) -> threshold")
	dash := s.ofType("AWS::CloudWatch::Dashboard")
	if assert.Len(t, dash, 1, "dashboard") {
		// The body is a Fn::Join of JSON text and function names.
		body := jsonOf(s.props(dash[0])["DashboardBody"])
		wantEMF := []string{emf.Acquires, emf.AcquireLatency, emf.Conflicts, emf.Reaped}
		if _, ok := s.fnIDs[deploy.FnJanitor]; ok {
			wantEMF = append(wantEMF, emf.JanitorCleaned, emf.JanitorFailed, emf.Quarantined)
		}
		for _, m := range wantEMF {
			// ["Boskos","Acquires","function","<name>"...], escaped in the join's text.
			metric := strings.ReplaceAll(fmt.Sprintf(`["%s","%s","%s","`, emf.Namespace, m, emf.DimFunction), `"`, `\"`)
			assert.Contains(t, body, metric, "dashboard: EMF metric %s by function", m)
		}
		assert.NotContains(t, body, "ConditionalCheckFailedRequests", "conflicts come from the functions' EMF metric")
	}
}

// checkBucket: the config bucket is versioned, encrypted, private and TLS
// only, filled by a BucketDeployment, and retained where the environment
// retains.
func checkBucket(t assert.TestingT, s *synthesized) {
	r := s.tpl.Resources[s.bucket]
	p := r.Properties
	assert.Equal(t, "Enabled", p["VersioningConfiguration"].(map[string]any)["Status"], "versioning")
	assert.Contains(t, jsonOf(p["BucketEncryption"]), "AES256", "encryption")
	assert.Equal(t, jsonOf(map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true}),
		jsonOf(p["PublicAccessBlockConfiguration"]), "public access")
	tls := false
	for _, id := range s.ofType("AWS::S3::BucketPolicy") {
		pp := s.props(id)
		if same(pp["Bucket"], ref(s.bucket)) && strings.Contains(jsonOf(pp["PolicyDocument"]), `"aws:SecureTransport":"false"`) {
			tls = true
		}
	}
	assert.True(t, tls, "TLS only")
	deps := s.ofType("Custom::CDKBucketDeployment")
	if assert.Len(t, deps, 1, "BucketDeployment") {
		assert.True(t, same(ref(s.bucket), s.props(deps[0])["DestinationBucketName"]))
	}
	if s.settings.Retain {
		assert.Equal(t, "Retain", r.DeletionPolicy)
		assert.Empty(t, s.ofType("Custom::S3AutoDeleteObjects"))
	}
}

// checkOutputs: ApiUrl, TableName, ConfigBucket.
func checkOutputs(t assert.TestingT, s *synthesized) {
	for _, o := range []string{stack.OutputAPIURL, stack.OutputTableName, stack.OutputConfigBucket} {
		assert.Contains(t, s.tpl.Outputs, o)
	}
	assert.True(t, same(ref(s.tableID), s.tpl.Outputs[stack.OutputTableName]["Value"]))
	assert.True(t, same(ref(s.bucket), s.tpl.Outputs[stack.OutputConfigBucket]["Value"]))
	assert.Contains(t, jsonOf(s.tpl.Outputs[stack.OutputAPIURL]["Value"]), jsonOf(ref(s.apiID)))
}

// checkCredentials: with credentials (auth basic or iam) there is exactly
// one secret, holding the placeholder (never a generated value), retained
// where the environment retains, in the CredentialsSecret output; each
// function that reads credentials (the API functions) has
// BOSKOS_CREDENTIALS_SECRET = the secret and secretsmanager:GetSecretValue
// on exactly it, and no other role of the stack may read it. Without
// credentials there is no secret, no variable and no grant.
func checkCredentials(t assert.TestingT, s *synthesized) {
	secrets := s.ofType("AWS::SecretsManager::Secret")
	readers := 0 // statements granting a secretsmanager action
	for _, id := range s.ofType("AWS::IAM::Policy") {
		for _, st := range s.props(id)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			for _, a := range strs(st.(map[string]any)["Action"]) {
				if strings.HasPrefix(a, "secretsmanager:") {
					readers++
				}
			}
		}
	}
	if !s.settings.Auth.HasCredentials() {
		assert.Empty(t, secrets, "auth %s: no secret", s.settings.Auth)
		assert.Zero(t, readers, "auth %s: no role reads a secret", s.settings.Auth)
		assert.NotContains(t, s.tpl.Outputs, stack.OutputCredentialsSecret)
		for name, id := range s.fnIDs {
			vars := s.props(id)["Environment"].(map[string]any)["Variables"].(map[string]any)
			assert.NotContains(t, vars, deploy.EnvCredentialsSecret, "%s: no credentials variable", name)
		}
		return
	}
	if !assert.Len(t, secrets, 1, "auth %s: one credentials secret", s.settings.Auth) {
		return
	}
	id := secrets[0]
	assert.Equal(t, s.secretID, id)
	r := s.tpl.Resources[id]
	assert.Equal(t, stack.CredentialsPlaceholder, r.Properties["SecretString"], "the placeholder, never a generated value")
	assert.NotContains(t, r.Properties, "GenerateSecretString")
	if s.settings.Retain {
		assert.Equal(t, "Retain", r.DeletionPolicy, "the secret is retained")
	}
	if out, ok := s.tpl.Outputs[stack.OutputCredentialsSecret]; assert.True(t, ok, "output %s", stack.OutputCredentialsSecret) {
		assert.True(t, same(ref(id), out["Value"]))
	}
	granted := 0
	for name, fid := range s.fnIDs {
		f, _ := deploy.Lookup(name)
		vars := s.props(fid)["Environment"].(map[string]any)["Variables"].(map[string]any)
		var grants []any
		for _, st := range s.statements(s.roleIDs[name]) {
			if slices.Contains(strs(st["Action"]), deploy.ActGetSecretValue) {
				grants = append(grants, st["Resource"])
			}
		}
		if !f.ReadsCredentials {
			assert.NotContains(t, vars, deploy.EnvCredentialsSecret, "%s: a job reads no credentials", name)
			assert.Empty(t, grants, "%s: a job may not read the secret", name)
			continue
		}
		granted += len(grants)
		assert.True(t, same(ref(id), vars[deploy.EnvCredentialsSecret]), "%s: %s is the secret", name, deploy.EnvCredentialsSecret)
		if assert.Len(t, grants, 1, "%s: %s", name, deploy.ActGetSecretValue) {
			assert.True(t, same(ref(id), grants[0]), "%s: %s on exactly the secret, got %s", name, deploy.ActGetSecretValue, jsonOf(grants[0]))
		}
	}
	assert.Equal(t, granted, readers, "only the functions that read credentials may read the secret")
}
