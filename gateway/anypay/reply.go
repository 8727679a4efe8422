package anypay

import "github.com/payrail/payments"

// WebhookReply implements payments.WebhookReplier. Anypay's handlers
// answer "OK" to a notification they have processed, in plain text, so
// that is the body of every 2xx the Service gives (recorded, duplicate,
// ignored or parked, once durable). Every other answer is the Service's
// own: a notification that failed verification stays 401 and a Store
// failure 500, and a verified notification the ledger rejected for good
// keeps its 400 or 409, since Anypay documents no schedule of retries
// that refusing would provoke.
func (g *Gateway) WebhookReply(_ *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	if res.Reply.Status < 200 || res.Reply.Status >= 300 {
		return res.Reply
	}
	return payments.WebhookReply{Status: res.Reply.Status, ContentType: "text/plain; charset=utf-8", Body: []byte("OK")}
}
