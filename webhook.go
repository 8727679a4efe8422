package payments

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// WebhookResult is what became of one inbound notification.
type WebhookResult struct {
	// Notification is the journal row as written.
	Notification Notification
	// Changes is what the driver reported; nil when it was rejected.
	Changes *Changes
	// Recorded is what the Store changed; nil unless the batch committed.
	Recorded *BatchResult
}

// HandleWebhook verifies one notification with the named gateway's driver,
// journals it and records what it reports, in that order, and returns only
// once what it recorded is durable.
//
// The error, when not nil, wraps ErrUnauthenticated or ErrInvalidInput for a
// notification that was rejected (answer 4xx), ErrConflict for one that
// contradicts the ledger, ErrNotSupported for an unknown gateway, and nothing
// of these for a Store failure or a driver error it did not classify (answer
// 5xx so the gateway retries). A
// notification whose money cannot be attributed to an account is journaled as
// OutcomeParked and returns no error: the gateway has delivered it, and
// retrying would not help. So is one naming a library payment id the Store
// does not hold (a deployment sharing the gateway account).
func (s *Service) HandleWebhook(ctx context.Context, gateway string, req *WebhookRequest) (*WebhookResult, error) {
	g, err := s.gateway(gateway)
	if err != nil {
		return nil, err
	}
	if req.ReceivedAt.IsZero() {
		req.ReceivedAt = s.now()
	}
	n := Notification{
		ID:         newID("ntf"),
		Gateway:    gateway,
		ReceivedAt: req.ReceivedAt,
		RemoteAddr: req.RemoteAddr,
		Header:     journalHeaders(g, req.Header),
		Body:       req.Body,
	}
	if req.Replay {
		n.Detail = "replay"
	}
	return s.handle(ctx, g, req, &n)
}

func (s *Service) handle(ctx context.Context, g Gateway, req *WebhookRequest, n *Notification) (*WebhookResult, error) {
	changes, err := g.ParseWebhook(ctx, req)
	if err == nil && changes == nil {
		err = fmt.Errorf("%s: driver returned neither changes nor an error", n.Gateway)
	}
	switch {
	case errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrInvalidInput):
		n.Outcome = OutcomeRejected
		n.Verified = !errors.Is(err, ErrUnauthenticated)
		n.Detail = joinDetail(n.Detail, err.Error())
		s.log.WarnContext(ctx, "payments: webhook rejected", "gateway", n.Gateway, "notification", n.ID, "error", err)
		return s.journalAlone(ctx, n, nil, err)
	case err != nil:
		// Anything else is the driver failing to finish (an API call it
		// needed timed out): answer 5xx so the gateway retries.
		n.Outcome = OutcomeFailed
		n.Detail = joinDetail(n.Detail, err.Error())
		s.log.ErrorContext(ctx, "payments: webhook not processed", "gateway", n.Gateway, "notification", n.ID, "error", err)
		res, jerr := s.journalAlone(ctx, n, nil, nil)
		if jerr != nil {
			return res, jerr
		}
		return res, fmt.Errorf("payments: %s notification: %w", n.Gateway, err)
	}
	n.Verified = true
	n.EventID, n.EventType = changes.EventID, changes.EventType
	if changes.Empty() {
		n.Outcome = OutcomeIgnored
		n.Detail = joinDetail(n.Detail, changes.Note)
		return s.journalAlone(ctx, n, changes, nil)
	}
	res, err := s.commit(ctx, n.Gateway, changes, n)
	switch {
	case err == nil:
		return &WebhookResult{Notification: *n, Changes: changes, Recorded: res}, nil
	case errors.Is(err, ErrUnattributed) || errors.Is(err, ErrNotFound):
		// No account to credit, or a payment id this deployment never
		// issued: retrying cannot help, so keep it for the host.
		n.Outcome = OutcomeParked
		n.Detail = joinDetail(n.Detail, err.Error())
		s.log.WarnContext(ctx, "payments: webhook parked", "gateway", n.Gateway, "notification", n.ID, "error", err)
		return s.journalAlone(ctx, n, changes, nil)
	case errors.Is(err, ErrConflict) || errors.Is(err, ErrInvalidInput):
		n.Outcome = OutcomeRejected
		n.Detail = joinDetail(n.Detail, err.Error())
		s.log.ErrorContext(ctx, "payments: webhook contradicts the ledger", "gateway", n.Gateway, "notification", n.ID, "error", err)
		return s.journalAlone(ctx, n, changes, err)
	default:
		n.Outcome = OutcomeFailed
		n.Detail = joinDetail(n.Detail, "store: "+err.Error())
		s.log.ErrorContext(ctx, "payments: webhook not recorded", "gateway", n.Gateway, "notification", n.ID, "error", err)
		if jerr := s.store.AppendNotification(ctx, n); jerr != nil {
			s.log.ErrorContext(ctx, "payments: journal failed", "notification", n.ID, "error", jerr)
		}
		return &WebhookResult{Notification: *n, Changes: changes}, fmt.Errorf("payments: record %s notification: %w", n.Gateway, err)
	}
}

// journalAlone journals a notification outside a batch. A journal failure
// turns the answer into a Store failure, so the gateway retries and nothing
// goes unjournaled; otherwise cause is returned as it is.
func (s *Service) journalAlone(ctx context.Context, n *Notification, c *Changes, cause error) (*WebhookResult, error) {
	res := &WebhookResult{Notification: *n, Changes: c}
	if err := s.store.AppendNotification(ctx, n); err != nil {
		s.log.ErrorContext(ctx, "payments: journal failed", "gateway", n.Gateway, "notification", n.ID, "error", err)
		if cause != nil && isClientError(cause) {
			return res, cause // the sender is at fault either way; a retry would be rejected again
		}
		return res, fmt.Errorf("payments: journal %s notification: %w", n.Gateway, err)
	}
	return res, cause
}

// Replay runs a journaled notification through its driver and the ledger
// again, journaling the replay as a new notification. It is how a host
// records a parked notification once it has attributed the payment, or one
// that failed while the Store was down. Only notifications that verified when
// they arrived can be replayed; drivers still check their signature.
func (s *Service) Replay(ctx context.Context, notificationID string) (*WebhookResult, error) {
	old, err := s.store.Notification(ctx, notificationID)
	if err != nil {
		return nil, err
	}
	if !old.Verified {
		return nil, fmt.Errorf("payments: replay %s: it did not verify: %w", notificationID, ErrUnauthenticated)
	}
	g, err := s.gateway(old.Gateway)
	if err != nil {
		return nil, err
	}
	req := &WebhookRequest{Header: old.Header, Body: old.Body, RemoteAddr: old.RemoteAddr, ReceivedAt: old.ReceivedAt, Replay: true}
	n := Notification{
		ID:         newID("ntf"),
		Gateway:    old.Gateway,
		ReceivedAt: s.now(),
		RemoteAddr: old.RemoteAddr,
		Header:     old.Header,
		Body:       old.Body,
		Detail:     "replay of " + old.ID,
	}
	return s.handle(ctx, g, req, &n)
}

// journalHeaders keeps the headers the driver declares it needs; the journal
// never holds cookies or authorization headers.
func journalHeaders(g Gateway, h http.Header) http.Header {
	hn, ok := g.(HeaderNamer)
	if !ok {
		return nil
	}
	kept := http.Header{}
	for _, name := range hn.WebhookHeaders() {
		if v := h.Values(name); len(v) > 0 {
			kept[http.CanonicalHeaderKey(name)] = append([]string(nil), v...)
		}
	}
	return kept
}

func joinDetail(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}
