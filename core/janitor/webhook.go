package janitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/boskos-serverless/boskos/core/boskos"
)

// bodyTailBytes is how much of a failed webhook's response body its error
// keeps.
const bodyTailBytes = 512

// Webhook is a cleanup behind an HTTP endpoint: it POSTs the resource's
// JSON (boskos.Resource's wire format, user data included) with
// Content-Type application/json. A 2xx answer is Cleaned, except 202
// Accepted, which is Dispatched (the endpoint took the resource over and
// releases it itself, as the janitor's owner with the resource's epoch);
// any other status (a redirect too) is a failure naming it and the tail of
// the body.
type Webhook struct {
	url    string
	client *http.Client
	header http.Header
}

// WebhookOptions tune a Webhook.
type WebhookOptions struct {
	// Client sends the requests (default: a client without timeout, the
	// cleanup's context bounds each request, that follows no redirect: a
	// redirected POST would become a GET, and its 200 a false success).
	Client *http.Client
	// Header is added to every request (an Authorization header, say).
	Header http.Header
}

// NewWebhook returns the webhook cleanup for an absolute http or https
// URL; anything else is an error.
func NewWebhook(rawURL string, o WebhookOptions) (*Webhook, error) {
	if err := checkHTTPURL(rawURL); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Webhook{url: rawURL, client: o.Client, header: o.Header.Clone()}, nil
}

// checkHTTPURL accepts absolute http(s) URLs with a host.
func checkHTTPURL(raw string) error {
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

// String returns the URL's scheme and host (its path and query may carry
// secrets).
func (w *Webhook) String() string {
	u, err := url.Parse(w.url)
	if err != nil {
		return "webhook"
	}
	return u.Scheme + "://" + u.Host
}

// Clean POSTs r to the webhook.
func (w *Webhook) Clean(ctx context.Context, r boskos.Resource) (Outcome, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode resource: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook %s: %w", w, err)
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
		return 0, fmt.Errorf("webhook %s: %v", w, unwrapURL(err))
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusAccepted:
		return Dispatched, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return Cleaned, nil
	}
	msg := strings.TrimSpace(tail(string(b), bodyTailBytes))
	if msg == "" {
		return 0, fmt.Errorf("webhook %s answered %s", w, resp.Status)
	}
	return 0, fmt.Errorf("webhook %s answered %s: %s", w, resp.Status, msg)
}
