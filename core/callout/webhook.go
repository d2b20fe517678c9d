package callout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// drainBytes bounds how much of a body Post reads when it keeps none of it
// (an error's tail, an answer that is not wanted).
const drainBytes = 64 << 10

// Webhook POSTs payloads to one http(s) URL.
type Webhook struct {
	url    string
	client *http.Client
	header http.Header
}

// WebhookOptions tune a Webhook.
type WebhookOptions struct {
	// Client sends the requests (default: a client without timeout, the
	// call's context bounds each request, that follows no redirect: a
	// redirected POST would become a GET, and its 200 a false success).
	Client *http.Client
	// Header is added to every request (an Authorization header, say).
	Header http.Header
}

// NewWebhook returns the Webhook of an absolute http or https URL with a
// host (CheckHTTPURL); anything else is an error.
func NewWebhook(rawURL string, o WebhookOptions) (*Webhook, error) {
	if err := CheckHTTPURL(rawURL); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Webhook{url: rawURL, client: o.Client, header: o.Header.Clone()}, nil
}

// CheckHTTPURL accepts absolute http(s) URLs with a host; its error is
// `invalid URL "RAW": why`.
func CheckHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %v", raw, unwrapURL(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("invalid URL %q: the scheme must be http or https", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("invalid URL %q: no host", raw)
	}
	return nil
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Endpoint returns the URL's scheme and host (its path and query may
// carry secrets).
func (w *Webhook) Endpoint() string {
	u, err := url.Parse(w.url)
	if err != nil {
		return "?"
	}
	return u.Scheme + "://" + u.Host
}

// String returns "webhook " and Endpoint.
func (w *Webhook) String() string { return "webhook " + w.Endpoint() }

// Post POSTs payload with Content-Type application/json and the options'
// headers. A 2xx answer returns its status and, when maxAnswer is
// positive, its body (a longer body fails, wrapping ErrTooLong); with
// maxAnswer zero the body is read no further than 64 KiB and dropped.
// Errors name the URL's scheme and host only: "webhook H: why" when no
// answer came (the context's error included), and "webhook H answered
// STATUS" followed by ": " and the tail of the body (TailBytes) for any
// other status, a redirect included.
func (w *Webhook) Post(ctx context.Context, payload []byte, maxAnswer int) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", w, err)
	}
	for k, vs := range w.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		// The URL may hold secrets: name the host only.
		return 0, nil, fmt.Errorf("%s: %v", w, unwrapURL(err))
	}
	defer resp.Body.Close()
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok || maxAnswer <= 0 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, drainBytes))
		if ok {
			return resp.StatusCode, nil, nil
		}
		return resp.StatusCode, nil, withTail(fmt.Errorf("%s answered %s", w, resp.Status), Tail(string(b), TailBytes))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(maxAnswer)+1))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s: read the answer: %v", w, unwrapURL(err))
	}
	if len(b) > maxAnswer {
		return resp.StatusCode, nil, fmt.Errorf("%s: %w: the body is over %d bytes", w, ErrTooLong, maxAnswer)
	}
	return resp.StatusCode, b, nil
}
