package janitor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
)

// Webhook is a cleanup behind an HTTP endpoint: it POSTs the resource's
// JSON (boskos.Resource's wire format, user data included) with
// Content-Type application/json. A 2xx answer is Cleaned, except 202
// Accepted, which is Dispatched (the endpoint took the resource over and
// releases it itself, as the janitor's owner with the resource's epoch);
// any other status (a redirect too) is a failure naming it and the tail of
// the body. It runs on callout.Webhook.
type Webhook struct {
	hook *callout.Webhook
}

// WebhookOptions tune a Webhook (callout.WebhookOptions: the client,
// which by default follows no redirect, and headers).
type WebhookOptions = callout.WebhookOptions

// NewWebhook returns the webhook cleanup for an absolute http or https
// URL; anything else is an error.
func NewWebhook(rawURL string, o WebhookOptions) (*Webhook, error) {
	h, err := callout.NewWebhook(rawURL, o)
	if err != nil {
		return nil, err
	}
	return &Webhook{hook: h}, nil
}

// String returns the URL's scheme and host (its path and query may carry
// secrets).
func (w *Webhook) String() string { return w.hook.Endpoint() }

// Clean POSTs r to the webhook.
func (w *Webhook) Clean(ctx context.Context, r boskos.Resource) (Outcome, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode resource: %w", err)
	}
	status, _, err := w.hook.Post(ctx, body, 0)
	switch {
	case err != nil:
		return 0, err
	case status == http.StatusAccepted:
		return Dispatched, nil
	}
	return Cleaned, nil
}
