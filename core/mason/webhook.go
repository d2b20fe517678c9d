package mason

import (
	"context"
	"fmt"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/callout"
)

// Webhook is the built-in converter "Webhook": its config.content is an
// absolute http or https URL. Construct POSTs the JSON of a Request to it
// (Content-Type application/json, ConverterOptions.Header added; no redirect is
// followed) and decodes a 2xx response body with DecodeAnswer (at most
// MaxAnswerBytes). Its errors start with "webhook SCHEME://HOST" (the
// URL's path and query may carry secrets and are never shown) and say: no
// answer (the connection, the context), another status with the tail of
// the body (callout.TailBytes), or a bad answer (wrapping ErrBadAnswer).
type Webhook struct {
	content string
	hook    *callout.Webhook
}

var _ Masonable = (*Webhook)(nil)

// NewWebhook returns the Webhook converter of content, an absolute http(s)
// URL with a host; anything else is an error.
func NewWebhook(content string, o ConverterOptions) (*Webhook, error) {
	h, err := callout.NewWebhook(content, callout.WebhookOptions{Client: o.Client, Header: o.Header})
	if err != nil {
		return nil, err
	}
	return &Webhook{content: content, hook: h}, nil
}

// String returns "webhook SCHEME://HOST".
func (w *Webhook) String() string { return w.hook.String() }

// Construct POSTs the request of res and leased (see Webhook); its
// content is the URL, the endpoint's own.
func (w *Webhook) Construct(ctx context.Context, res boskos.Resource, leased TypeToResources) (boskos.UserData, error) {
	in, err := EncodeRequest(res, leased, w.content)
	if err != nil {
		return nil, err
	}
	_, out, err := w.hook.Post(ctx, in, MaxAnswerBytes)
	if err != nil {
		return nil, err
	}
	ud, err := DecodeAnswer(out)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", w, err)
	}
	return ud, nil
}
