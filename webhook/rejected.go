package webhook

import (
	"errors"
	"net/http"

	"github.com/payrail/payments"
)

// RejectedReply says how the handlers answer a notification that verified
// but that the ledger rejected for good: one the driver could not
// understand (400), or one that contradicts the ledger (409). Such a
// notification is journaled whatever it is answered, verified and whole,
// with why it was rejected, and Service.Replay runs it again once the
// cause is fixed. Answering 2xx stops the gateway resending what would be
// refused again; answering 4xx keeps it resending, which helps only when a
// fix is deployed before the gateway gives up.
//
// Whatever the setting, a notification that did not verify is answered
// 401 and one that could not be recorded 500: the first must never look
// accepted to whoever forged it, and the second is retried so that it is
// recorded.
type RejectedReply int

// How rejected notifications are answered.
const (
	// RejectedByDriver answers as the gateway's driver decides: the
	// Service's 400 or 409, unless the driver, as a
	// payments.WebhookReplier, acknowledges it because its gateway resends
	// refusals for days and disables endpoints that keep refusing (the
	// Stripe driver does). The default.
	RejectedByDriver RejectedReply = iota
	// RejectedRefuse answers 400 or 409 even where the driver would
	// acknowledge, for a host that would rather have the gateway resend
	// and watch its failures in the gateway's dashboard.
	RejectedRefuse
	// RejectedAcknowledge answers 200 even where the driver would refuse,
	// in the form the driver gives its acknowledgements, so that no
	// gateway resends what will be refused again.
	RejectedAcknowledge
)

// WithRejectedReply overrides, for every gateway the handlers serve, how a
// notification that verified but that the ledger rejected for good is
// answered (default RejectedByDriver).
func WithRejectedReply(r RejectedReply) Option { return func(c *config) { c.rejected = r } }

// replyTo returns the reply to write for a handled notification: the
// Service's, unless the notification verified, was rejected, and the
// handler's RejectedReply overrides what the driver answered. err is what
// HandleWebhook returned with it.
func (h handler) replyTo(req *payments.WebhookRequest, res *payments.WebhookResult, err error) payments.WebhookReply {
	n := res.Notification
	if n.Outcome != payments.OutcomeRejected || !n.Verified {
		return res.Reply
	}
	acknowledged := res.Reply.Status < 300
	switch {
	case h.cfg.rejected == RejectedRefuse && acknowledged:
		status := http.StatusBadRequest
		if errors.Is(err, payments.ErrConflict) {
			status = http.StatusConflict
		}
		return payments.WebhookReply{Status: status, ContentType: "text/plain; charset=utf-8", Body: []byte(http.StatusText(status) + "\n")}
	case h.cfg.rejected == RejectedAcknowledge && !acknowledged:
		return h.acknowledgement(req, res)
	}
	return res.Reply
}

// acknowledgement is the Service's 200 for a rejected notification, shaped
// by the driver when it is a payments.WebhookReplier (a gateway that wants
// a particular body would otherwise resend); a driver that still refuses
// gets the Service's own.
func (h handler) acknowledgement(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	ack := payments.WebhookReply{Status: http.StatusOK, ContentType: "application/json",
		Body: []byte(`{"outcome":"` + string(payments.OutcomeRejected) + `"}` + "\n")}
	g, _ := h.svc.Gateway(h.gateway)
	r, ok := g.(payments.WebhookReplier)
	if !ok {
		return ack
	}
	asked := *res
	asked.Reply = ack
	shaped := r.WebhookReply(req, &asked)
	switch {
	case shaped.Status == 0:
		shaped.Status = ack.Status
	case shaped.Status >= 300:
		return ack
	}
	return shaped
}
