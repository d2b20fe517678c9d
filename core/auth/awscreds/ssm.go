package awscreds

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// ParametersClient makes SSM's GetParameter request itself: one POST in
// the awsJson1_1 protocol, signed with SigV4 by the SDK's signer, with
// the configuration's credentials. It exists because the SDK's ssm
// package costs 1.3 MB in every bootstrap that links it (its schemas are
// built at package initialization, used or not), which the API functions'
// 10 MiB budget cannot afford; Secrets Manager's client costs 0.26 MB and
// is used as it is. Tests compare it with the SDK's client on moto.
type ParametersClient struct {
	creds    aws.CredentialsProvider
	region   string
	endpoint string
	http     *http.Client
	signer   *v4.Signer
	now      func() time.Time
}

// NewParametersClient returns an SSM client on cfg (its Region,
// Credentials and HTTPClient), at endpoint when it is not "" (else
// cfg.BaseEndpoint, else https://ssm.REGION.amazonaws.com, .com.cn in the
// China regions; other partitions need the endpoint given).
func NewParametersClient(cfg aws.Config, endpoint string) *ParametersClient {
	if endpoint == "" && cfg.BaseEndpoint != nil {
		endpoint = *cfg.BaseEndpoint
	}
	if endpoint == "" {
		suffix := "amazonaws.com"
		if strings.HasPrefix(cfg.Region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		endpoint = "https://ssm." + cfg.Region + "." + suffix
	}
	hc, _ := cfg.HTTPClient.(*http.Client)
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &ParametersClient{creds: cfg.Credentials, region: cfg.Region, endpoint: strings.TrimRight(endpoint, "/"),
		http: hc, signer: v4.NewSigner(), now: time.Now}
}

// apiError is an error answer of SSM: its code (ParameterNotFound,
// AccessDeniedException, ...) and message.
type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.code, e.message, e.status)
}
func (e *apiError) ErrorCode() string    { return e.code }
func (e *apiError) ErrorMessage() string { return e.message }

// retryable are the codes worth another attempt, as the SDK retries them.
func (e *apiError) retryable() bool {
	return e.status >= 500 || strings.Contains(e.code, "Throttling") || e.code == "TooManyUpdates"
}

// maxAttempts is how often GetParameter tries (the SDK's standard retryer
// makes 3 attempts too).
const maxAttempts = 3

// GetParameter returns parameter name (a name or ARN), decrypted. Errors
// carry SSM's code (ErrorCode) and message; throttling, 5xx and transport
// errors are retried twice.
func (c *ParametersClient) GetParameter(ctx context.Context, name string) (Param, error) {
	body, err := json.Marshal(struct {
		Name           string
		WithDecryption bool
	}{name, true})
	if err != nil {
		return Param{}, err
	}
	var last error
	for attempt := range maxAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return Param{}, ctx.Err()
			case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
			}
		}
		p, err := c.getParameter(ctx, body)
		var api *apiError
		if err == nil || ctx.Err() != nil || (errors.As(err, &api) && !api.retryable()) {
			return p, err
		}
		last = err
	}
	return Param{}, last
}

func (c *ParametersClient) getParameter(ctx context.Context, body []byte) (Param, error) {
	if c.creds == nil {
		return Param{}, errors.New("no AWS credentials")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return Param{}, fmt.Errorf("AWS credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return Param{}, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.region, c.now().UTC()); err != nil {
		return Param{}, fmt.Errorf("sign: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Param{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Param{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Param{}, decodeError(resp.StatusCode, data)
	}
	var out struct {
		Parameter *struct {
			Type  string
			Value *string
		}
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return Param{}, fmt.Errorf("GetParameter answer: %v", err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return Param{}, errors.New("GetParameter answer has no value")
	}
	return Param{Type: out.Parameter.Type, Value: *out.Parameter.Value}, nil
}

// decodeError reads an awsJson1_1 error body: {"__type": "[ns#]Code",
// "message": "..."} (or "Message").
func decodeError(status int, data []byte) error {
	var e struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(data, &e)
	code := e.Type
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.Index(code, ":"); i >= 0 {
		code = code[:i]
	}
	if code == "" {
		code = http.StatusText(status)
	}
	msg := e.Message
	if msg == "" {
		msg = e.Message2
	}
	return &apiError{status: status, code: code, message: msg}
}
