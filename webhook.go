package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	// Reply is the answer the gateway expects, to be written as it is.
	Reply WebhookReply
}

// HandleWebhook verifies one notification with the named gateway's driver,
// journals it and records what it reports, in that order, and returns only
// once what it recorded is durable. The result's Reply is the answer to
// send; the webhook package's handlers write it.
//
// The error, when not nil, wraps ErrUnauthenticated or ErrInvalidInput for a
// notification that was rejected (answer 4xx), ErrConflict for one that
// contradicts the ledger, ErrNotSupported for an unknown gateway (then the
// result is nil), and nothing of these for a Store failure or a driver
// error it did not classify (answer 5xx so the gateway retries). A
// notification whose money cannot be attributed to an account is journaled
// as OutcomeParked and returns no error: the gateway has delivered it, and
// retrying would not help; Service.Attribute records it once the host knows
// whose it is. So is one naming a library payment id the Store does not
// hold (a deployment sharing the gateway account).
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
	return s.handle(ctx, g, req, &n, Attribution{})
}

// handle verifies, records and journals one notification, and decides its
// outcome and the reply; a is what the caller vouches for (Attribute).
func (s *Service) handle(ctx context.Context, g Gateway, req *WebhookRequest, n *Notification, a Attribution) (*WebhookResult, error) {
	if s.observer != nil {
		return s.observeWebhook(ctx, g, req, n, a)
	}
	return s.ingest(ctx, g, req, n, a)
}

// ingest is handle without the Observer.
func (s *Service) ingest(ctx context.Context, g Gateway, req *WebhookRequest, n *Notification, a Attribution) (*WebhookResult, error) {
	res := &WebhookResult{}
	var changes *Changes
	var parseErr error
	if n.Source == SourceRecord {
		changes, parseErr = parseRecord(ctx, g, req.Body)
	} else {
		changes, parseErr = g.ParseWebhook(ctx, req)
	}
	if parseErr == nil && changes == nil {
		parseErr = fmt.Errorf("%s: driver returned neither changes nor an error", n.Gateway)
	}
	var commitErr, followErr error
	journaled := false
	if parseErr == nil {
		n.Verified = true
		n.EventID, n.EventType = changes.EventID, changes.EventType
		res.Changes = changes
		if !changes.Empty() {
			res.Recorded, commitErr = s.commit(ctx, n.Gateway, changes, n, a.Account, a.Reference)
			journaled = commitErr == nil
			if journaled {
				followErr = s.afterCommit(ctx, g, changes, res.Recorded)
			}
		} else {
			n.Detail = joinDetail(n.Detail, changes.Note)
		}
	} else {
		// Only a driver that could not authenticate the notification says
		// so; any other failure comes after verification.
		n.Verified = !errors.Is(parseErr, ErrUnauthenticated)
		if !n.Verified {
			boundBody(n)
		}
	}
	n.Outcome = outcomeOf(parseErr, res.Recorded, commitErr)
	err := parseErr
	if err == nil {
		err = commitErr
	}
	s.logOutcome(ctx, n, err)
	if journaled {
		// The batch journaled the notification with the outcome the
		// ledger decided, by outcomeOf too.
		n.Outcome = res.Recorded.Outcome
	} else {
		n.Detail = joinDetail(n.Detail, detailOf(parseErr, commitErr))
		if jerr := s.store.AppendNotification(ctx, n); jerr != nil {
			s.log.ErrorContext(ctx, "payments: journal failed", "gateway", n.Gateway, "notification", n.ID, "error", jerr)
			// The gateway must retry, so that nothing goes unjournaled,
			// unless it failed verification: a retry would be refused
			// again. A verified rejection is retried: a driver may
			// acknowledge it only once it is journaled.
			if n.Outcome != OutcomeRejected || n.Verified {
				n.Outcome = OutcomeFailed
				err = errors.Join(err, fmt.Errorf("journal: %w", jerr))
			}
		}
	}
	res.Notification = *n
	if parseErr == nil && changes.Notice && n.Outcome == OutcomeIgnored {
		s.publishNotice(n)
	}
	if followErr != nil {
		// Recorded, but what the gateway must hear next failed: have it
		// deliver again, which is a duplicate that retries this.
		failed := *res
		failed.Notification.Outcome = OutcomeFailed
		res.Reply = s.reply(g, req, &failed, followErr)
		return res, fmt.Errorf("payments: %s notification recorded, but: %w", n.Gateway, followErr)
	}
	res.Reply = s.reply(g, req, res, err)
	switch n.Outcome {
	case OutcomeRecorded, OutcomeDuplicate, OutcomeIgnored, OutcomeParked:
		return res, nil
	case OutcomeRejected:
		return res, err
	}
	return res, fmt.Errorf("payments: %s notification not recorded: %w", n.Gateway, err)
}

// afterCommit lets a driver that must tell its gateway what is durable do
// so (AfterCommitter).
func (s *Service) afterCommit(ctx context.Context, g Gateway, c *Changes, res *BatchResult) error {
	ac, ok := g.(AfterCommitter)
	if !ok {
		return nil
	}
	if err := ac.AfterCommit(ctx, c, res); err != nil {
		s.log.ErrorContext(ctx, "payments: recorded, but the driver's follow-up failed", "gateway", g.Name(), "error", err)
		return err
	}
	return nil
}

// boundBody keeps of an unverified notification's body only a prefix, its
// length and its hash: anyone can send one, and the journal must not be a
// way to fill the disk.
func boundBody(n *Notification) {
	if len(n.Body) <= UnverifiedBodyPrefix {
		return
	}
	sum := sha256.Sum256(n.Body)
	n.BodyLen, n.BodySHA256 = int64(len(n.Body)), hex.EncodeToString(sum[:])
	n.Body = n.Body[:UnverifiedBodyPrefix:UnverifiedBodyPrefix]
}

// outcomeOf decides what became of a notification: the one place that
// does, for the Service and, through Plan.Settle, for the Store's commit.
// parseErr is the driver's refusal or failure, commitErr the ledger's, rec
// what the ledger changed (nil when nothing reached it).
func outcomeOf(parseErr error, rec *BatchResult, commitErr error) Outcome {
	switch {
	case parseErr != nil:
		if errors.Is(parseErr, ErrUnauthenticated) || errors.Is(parseErr, ErrInvalidInput) {
			return OutcomeRejected
		}
		// The driver failed to finish (an API call it needed timed out):
		// the gateway retries.
		return OutcomeFailed
	case commitErr != nil:
		switch {
		case errors.Is(commitErr, ErrUnattributed) || errors.Is(commitErr, ErrNotFound) ||
			errors.Is(commitErr, ErrMismatch):
			// No account to credit, a payment id this deployment never
			// issued, or money that does not match its payment: retrying
			// cannot help, so it is kept for the host.
			return OutcomeParked
		case errors.Is(commitErr, ErrConflict) || errors.Is(commitErr, ErrInvalidInput):
			return OutcomeRejected
		}
		return OutcomeFailed
	case rec == nil:
		return OutcomeIgnored
	case rec.Empty():
		return OutcomeDuplicate
	}
	return OutcomeRecorded
}

// detailOf says, for the journal, why a notification was not recorded.
func detailOf(parseErr, commitErr error) string {
	switch {
	case parseErr != nil:
		return parseErr.Error()
	case commitErr != nil && !isClientError(commitErr):
		return "store: " + commitErr.Error()
	case commitErr != nil:
		return commitErr.Error()
	}
	return ""
}

func (s *Service) logOutcome(ctx context.Context, n *Notification, err error) {
	if err == nil {
		return // recorded, duplicate or ignored: nothing to look at
	}
	args := []any{"gateway", n.Gateway, "notification", n.ID, "error", err}
	switch n.Outcome {
	case OutcomeRejected:
		if errors.Is(err, ErrConflict) {
			s.log.ErrorContext(ctx, "payments: webhook contradicts the ledger", args...)
		} else {
			s.log.WarnContext(ctx, "payments: webhook rejected", args...)
		}
	case OutcomeParked:
		s.log.WarnContext(ctx, "payments: webhook parked", args...)
	case OutcomeFailed:
		s.log.ErrorContext(ctx, "payments: webhook not recorded", args...)
	}
}

// reply is the answer to a handled notification: the status its outcome
// calls for, in the form its driver wants when it is a WebhookReplier.
func (s *Service) reply(g Gateway, req *WebhookRequest, res *WebhookResult, err error) WebhookReply {
	status := http.StatusOK
	switch res.Notification.Outcome {
	case OutcomeRejected:
		status = http.StatusBadRequest
		if errors.Is(err, ErrUnauthenticated) {
			status = http.StatusUnauthorized
		} else if errors.Is(err, ErrConflict) {
			status = http.StatusConflict
		}
	case OutcomeFailed:
		status = http.StatusInternalServerError
	}
	res.Reply = WebhookReply{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(http.StatusText(status) + "\n")}
	if status == http.StatusOK {
		res.Reply.ContentType = "application/json"
		res.Reply.Body = []byte(`{"outcome":"` + string(res.Notification.Outcome) + `"}` + "\n")
	}
	r, ok := g.(WebhookReplier)
	if !ok {
		return res.Reply
	}
	custom := r.WebhookReply(req, res)
	switch {
	case custom.Status == 0:
		custom.Status = status
	case (custom.Status < 300) == (status < 300):
	case res.Notification.Outcome == OutcomeRejected && res.Notification.Verified && custom.Status < 300:
		// A verified notification the ledger refuses for good is
		// journaled; a driver whose gateway retries refusals for days
		// (and disables the endpoint) may acknowledge it instead.
	default:
		// Otherwise, whatever the driver answers, a failure stays a
		// failure and an acknowledgement an acknowledgement.
		custom.Status = status
	}
	return custom
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
