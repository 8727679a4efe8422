package payeer

import (
	"net/url"

	"github.com/payrail/payments"
)

// WebhookReply implements payments.WebhookReplier. Payeer's handler
// answers "<m_orderid>|success" to a callback it has processed and
// "<m_orderid>|error" to one it has not (payeer/opencart
// catalog/controller/payment/payeer.php; payeer/prestashop
// payeer/controllers/front/status.php), in plain text, so that is the
// body: "|success" on the Service's 2xx (recorded, duplicate, ignored or
// parked, once durable) and "|error" on anything else, with the Service's
// status unchanged — a callback that failed verification stays 401 and a
// Store failure 500, and a verified callback the ledger rejected for good
// keeps its 400 or 409, since Payeer documents no schedule of retries that
// refusing would provoke.
//
// m_orderid is read from the form even when the callback did not verify,
// since Payeer's handler echoes it either way, but it is echoed only when
// it is a plain id (letters, digits, '_', '-', '.'; at most 64): a reply
// never reflects what a sender put in a form. Otherwise the body is
// "|success" or "|error" alone.
func (g *Gateway) WebhookReply(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	outcome := "error"
	if res.Reply.Status >= 200 && res.Reply.Status < 300 {
		outcome = "success"
	}
	return payments.WebhookReply{
		Status:      res.Reply.Status,
		ContentType: "text/plain; charset=utf-8",
		Body:        []byte(replyOrderID(req) + "|" + outcome),
	}
}

// replyOrderID is the m_orderid to echo, or "".
func replyOrderID(req *payments.WebhookRequest) string {
	if req == nil {
		return ""
	}
	form, err := url.ParseQuery(string(req.Body))
	if err != nil && form == nil {
		return ""
	}
	ids := form["m_orderid"]
	if len(ids) != 1 || !safeOrderID(ids[0]) {
		return ""
	}
	return ids[0]
}
