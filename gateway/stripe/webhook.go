package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments"
)

// ParseWebhook implements payments.Gateway. In order, it:
//
//  1. verifies the Stripe-Signature header against each of
//     Config.WebhookSecrets with stripe-go's webhook package, and checks the
//     signed time is within Config.Tolerance of now (both ways: stripe-go
//     checks only the past); req.Replay skips the time check alone.
//     Failures wrap payments.ErrUnauthenticated;
//  2. decodes the event and checks it was rendered for APIVersion, unless
//     Config.IgnoreAPIVersionMismatch; a mismatch wraps
//     payments.ErrInvalidInput and says how to fix the webhook endpoint.
//     It comes after verification, so an unauthenticated body never gets
//     that answer;
//  3. translates the event into payments.Changes (see the package doc).
//     Event types the driver does not act on return empty Changes with a
//     Note, which the Service journals as ignored and answers 2xx.
//
// It calls Stripe's API for four things, each with the Gateway's
// SecretKey: to itemize charge.refunded (unless
// Config.DisableRefundListing), to read a Checkout Session's PaymentIntent,
// to read a payment_intent.succeeded charge's balance transaction for
// Stripe's settlement figures (unless Config.DisableSettlementLookup; a
// failed read only leaves the figures out), and, under
// Config.CaptureAfterReview, to capture or cancel an authorization. Those captures and cancels are made once: each carries the
// idempotency key the Service sends for the same operation on the same
// payment (its payment id and ":capture" or ":cancel"), so concurrent
// deliveries, redeliveries, replays and the host's own Capture are one
// request at Stripe, and an intent that no longer awaits capture is
// reported as it is, never captured again. When Stripe cannot be reached,
// or answers 409 for a concurrent request with the same key, ParseWebhook
// fails: the webhook is answered 500 and Stripe delivers the event again,
// and the journal keeps it as failed for Service.Replay.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if err := g.verify(req); err != nil {
		return nil, err
	}
	ev, err := g.decodeEvent(req.Body)
	if err != nil {
		return nil, err
	}
	return g.translate(ctx, ev)
}

// verify authenticates a notification. stripe-go compares signatures in
// constant time and accepts any of several v1 signatures in one header,
// which Stripe sends while an endpoint secret is being rolled.
func (g *Gateway) verify(req *payments.WebhookRequest) error {
	header := req.Header.Get(SignatureHeader)
	if header == "" {
		return fmt.Errorf("stripe: no %s header: %w", SignatureHeader, payments.ErrUnauthenticated)
	}
	for _, secret := range g.secrets {
		var err error
		if req.Replay {
			err = webhook.ValidatePayloadIgnoringTolerance(req.Body, header, secret)
		} else {
			err = webhook.ValidatePayloadWithTolerance(req.Body, header, secret, g.tolerance)
		}
		switch {
		case err == nil:
			if req.Replay {
				return nil
			}
			return g.checkNotFuture(header)
		case errors.Is(err, webhook.ErrNoValidSignature):
			continue // maybe signed with another of the secrets
		case errors.Is(err, webhook.ErrTooOld):
			return fmt.Errorf("stripe: %s is older than the %s tolerance: %w", SignatureHeader, g.tolerance, payments.ErrUnauthenticated)
		default: // ErrNotSigned, ErrInvalidHeader: the same for every secret
			return fmt.Errorf("stripe: malformed %s header: %v: %w", SignatureHeader, err, payments.ErrUnauthenticated)
		}
	}
	return fmt.Errorf("stripe: no signature matches the configured webhook secrets: %w", payments.ErrUnauthenticated)
}

// checkNotFuture rejects a verified signature whose time is ahead of now by
// more than the tolerance, which stripe-go does not check: a notification
// signed "in the future" would otherwise stay replayable for longer.
func (g *Gateway) checkNotFuture(header string) error {
	for part := range strings.SplitSeq(header, ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			unix, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				break
			}
			if ahead := time.Until(time.Unix(unix, 0)); ahead > g.tolerance {
				return fmt.Errorf("stripe: %s is %s in the future, beyond the %s tolerance: %w",
					SignatureHeader, ahead.Round(time.Second), g.tolerance, payments.ErrUnauthenticated)
			}
			return nil
		}
	}
	return fmt.Errorf("stripe: %s has no valid time: %w", SignatureHeader, payments.ErrUnauthenticated)
}

// decodeEvent decodes an authenticated body and checks its API version.
func (g *Gateway) decodeEvent(body []byte) (*stripego.Event, error) {
	var ev stripego.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("stripe: decode event: %v: %w", err, payments.ErrInvalidInput)
	}
	if ev.ID == "" || ev.Type == "" || ev.Data == nil || len(ev.Data.Raw) == 0 {
		return nil, fmt.Errorf("stripe: event without id, type or data.object: %w", payments.ErrInvalidInput)
	}
	if ev.APIVersion != APIVersion && !g.ignoreVer {
		return nil, fmt.Errorf("stripe: %w", versionMismatch(ev.ID, ev.APIVersion))
	}
	if g.livemode != nil && ev.Livemode != *g.livemode {
		return nil, fmt.Errorf("stripe: event %s is from %s but the gateway's key is for %s: "+
			"give each mode its own Gateway (Config.Name), endpoint and signing secret: %w",
			ev.ID, modeName(ev.Livemode), modeName(*g.livemode), payments.ErrInvalidInput)
	}
	return &ev, nil
}

func modeName(live bool) string {
	if live {
		return "live mode"
	}
	return "test mode"
}

// versionMismatch explains what to change when an event was rendered for
// another API version. Stripe renders an event for the API version of the
// webhook endpoint, and that version is fixed when the endpoint is created
// (the update call takes no api_version), so the fix is a new endpoint
// (https://docs.stripe.com/webhooks/versioning).
func versionMismatch(eventID, got string) error {
	if got == "" {
		got = "no API version"
	} else {
		got = "API version " + got
	}
	return fmt.Errorf("event %s is rendered for %s, but this driver reads %s: "+
		"create a webhook endpoint with API version %s for this URL "+
		"(Dashboard: Developers → Webhooks → Add endpoint → API version; CLI: "+
		"stripe webhook_endpoints create -d url=… -d api_version=%s -d \"enabled_events[]=…\"), "+
		"add its signing secret to WebhookSecrets and disable the old endpoint; "+
		"or set IgnoreAPIVersionMismatch to decode other versions at your own risk: %w",
		eventID, got, APIVersion, APIVersion, APIVersion, payments.ErrInvalidInput)
}
