package stripe

import (
	"net/http"

	"github.com/payrail/payments"
)

// WebhookReply implements payments.WebhookReplier. It answers 200 to an
// event that verified but that the ledger rejected for good — one rendered
// for another API version, one it cannot understand, one that contradicts
// the ledger (a 409) — where the Service would answer 4xx. Stripe treats
// every answer outside 2xx as a failed delivery and, in live mode, resends
// the event with exponential backoff for up to three days, and it disables
// an endpoint that keeps failing (https://docs.stripe.com/webhooks#retries):
// each resend would be refused the same way, and a disabled endpoint loses
// every later event too. The event is already journaled, verified and
// whole, with why it was rejected; svc.Replay runs it again once the cause
// is fixed (IgnoreAPIVersionMismatch, a new endpoint). The body says the
// outcome, as the Service's own acknowledgements do, so Stripe's delivery
// log shows it.
//
// Every other answer is the Service's: a notification that did not verify
// stays 401 and a Store failure 500, so Stripe retries what may yet be
// recorded. A host that wants Stripe to retry rejections anyway sets
// webhook.WithRejectedReply(webhook.RejectedRefuse).
func (g *Gateway) WebhookReply(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	if n := res.Notification; n.Outcome != payments.OutcomeRejected || !n.Verified {
		return res.Reply
	}
	return payments.WebhookReply{
		Status:      http.StatusOK,
		ContentType: "application/json",
		Body:        []byte(`{"outcome":"` + string(payments.OutcomeRejected) + `"}` + "\n"),
	}
}
