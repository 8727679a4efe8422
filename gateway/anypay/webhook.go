package anypay

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/remoteip"
)

// notificationFields are the fields a notification may carry once only:
// those a signature covers, and the sign.
var notificationFields = []string{"merchant_id", "pay_id", "amount", "currency", "status", "sign"}

// ParseWebhook implements payments.Gateway for Anypay's payment
// notification, a form POST to the project's notification URL.
//
// Authentication: when Config.CheckSenderIP is set the sender must be in
// Config.SenderIPs (through Config.TrustedProxies); then sign must equal
// NotificationSign over currency, amount, pay_id, merchant_id and status
// as the form carries them (or, under Config.SignMD5, NotificationSignMD5
// over merchant_id, amount and pay_id), compared in constant time; and
// merchant_id must be Config.MerchantID. A body that is not a form, has no
// sign, or repeats a signed field, cannot be authenticated. All of these
// fail with an error wrapping payments.ErrUnauthenticated. What the
// signature does not cover — transaction_id, profit, email, method, the
// dates, test, the shop's own parameters — is never read.
//
// Translation, keyed by pay_id (signed; Anypay's transaction_id is not):
//
//	status paid       succeeded, and a charge (GatewayRef = pay_id) of
//	                  amount in currency
//	waiting           pending
//	canceled          canceled
//	expired           expired
//	error             failed
//	refund, any other nothing (journaled as ignored): Anypay reports a
//	                  refund it made, but this driver records no refund it
//	                  cannot tie to a signed amount of its own
//
// The payment is named by pay_id (PaymentUpdate.GatewayID, and PaymentID
// when it is a library id): the checkout gave the payment that gateway id,
// so the notification finds it and its account. Anypay's notification
// carries no signed account, so one for a payment the library never made
// is parked. A charge in another currency than its payment's, or above its
// amount, is parked by the ledger (payments.ErrMismatch). A verified
// notification whose amount is not exact in its currency, or whose pay_id
// is empty, fails with payments.ErrInvalidInput. Anypay signs no time, so
// WebhookRequest.Replay changes nothing.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if req == nil {
		return nil, fmt.Errorf("anypay: no notification: %w", payments.ErrUnauthenticated)
	}
	if err := g.checkSender(ctx, req); err != nil {
		return nil, err
	}
	n, err := g.verify(req.Body)
	if err != nil {
		return nil, err
	}
	return g.translate(ctx, n, req)
}

// checkSender enforces Config.CheckSenderIP.
func (g *Gateway) checkSender(ctx context.Context, req *payments.WebhookRequest) error {
	if !g.cfg.CheckSenderIP {
		return nil
	}
	sender, err := g.senders.Check(req.RemoteAddr, req.Header)
	if errors.Is(err, remoteip.ErrNotAllowed) {
		g.log.WarnContext(ctx, "anypay: notification from a sender not in SenderIPs", "sender", sender.String())
		return fmt.Errorf("anypay: notification sender %s is not allowed: %w", sender, payments.ErrUnauthenticated)
	}
	if err != nil {
		return fmt.Errorf("anypay: notification sender: %v: %w", err, payments.ErrUnauthenticated)
	}
	return nil
}

// notification is a verified notification's signed fields.
type notification struct {
	PayID, Amount, Currency, Status string
	// MD5 is set when it verified with the legacy MD5 sign, which does
	// not cover Currency and Status.
	MD5 bool
}

// verify parses the form and checks its sign.
func (g *Gateway) verify(body []byte) (notification, error) {
	unauthenticated := func(format string, args ...any) (notification, error) {
		return notification{}, fmt.Errorf("anypay: notification cannot be verified: "+format+": %w", append(args, payments.ErrUnauthenticated)...)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return unauthenticated("not a form")
	}
	for _, name := range notificationFields {
		if len(form[name]) > 1 {
			// PHP keeps the last of a repeated field and Go the first: a
			// body that repeats one could be read otherwise than signed.
			return unauthenticated("field %s repeated", name)
		}
	}
	sign, ok := form["sign"]
	if !ok {
		return unauthenticated("no sign")
	}
	merchant, payID, amount, currency, status := form.Get("merchant_id"), form.Get("pay_id"), form.Get("amount"), form.Get("currency"), form.Get("status")
	got := []byte(sign[0])
	sha := subtle.ConstantTimeCompare([]byte(NotificationSign(currency, amount, payID, merchant, status, g.cfg.SecretKey)), got)
	md := 0
	if g.cfg.SignMD5 {
		md = subtle.ConstantTimeCompare([]byte(NotificationSignMD5(merchant, amount, payID, g.cfg.SecretKey)), got)
	}
	if sha|md != 1 {
		return unauthenticated("sign mismatch")
	}
	if merchant != g.cfg.MerchantID {
		// Signed with this project's key for another project: a host that
		// shares one key between projects must not book one's money as the
		// other's.
		return unauthenticated("merchant_id %q is not this project", truncate(merchant))
	}
	return notification{PayID: payID, Amount: amount, Currency: currency, Status: status, MD5: sha != 1}, nil
}

// statusOf maps Anypay's payment statuses (paid, waiting, refund,
// canceled, expired, error, as its API reports them); ok is false for one
// that moves nothing.
func statusOf(s string) (payments.Status, bool) {
	switch s {
	case "paid":
		return payments.StatusSucceeded, true
	case "waiting":
		return payments.StatusPending, true
	case "canceled":
		return payments.StatusCanceled, true
	case "expired":
		return payments.StatusExpired, true
	case "error":
		return payments.StatusFailed, true
	}
	return "", false
}

func (g *Gateway) translate(ctx context.Context, n notification, req *payments.WebhookRequest) (*payments.Changes, error) {
	invalid := func(format string, args ...any) (*payments.Changes, error) {
		return nil, fmt.Errorf("anypay: notification of %s: "+format+": %w", append([]any{truncate(n.PayID)}, append(args, payments.ErrInvalidInput)...)...)
	}
	if n.PayID == "" || len(n.PayID) > 256 {
		return invalid("pay_id is empty or too long")
	}
	var note string
	if n.MD5 {
		var err error
		if n, err = g.fromAPI(ctx, n); err != nil {
			return nil, err
		}
		note = "verified with the legacy MD5 sign; status and currency as Anypay's API reports them"
	}
	c := &payments.Changes{EventID: n.PayID + ":" + n.Status, EventType: n.Status, Note: note}
	status, ok := statusOf(n.Status)
	if !ok {
		c.Note = joinNote(c.Note, fmt.Sprintf("status %q moves nothing", truncate(n.Status)))
		return c, nil
	}
	update := payments.PaymentUpdate{GatewayID: n.PayID, Status: status}
	if payments.IsPaymentID(n.PayID) {
		update.PaymentID = n.PayID
	}
	amount, err := payments.ParseMoney(n.Amount, n.Currency)
	if err == nil && amount.Amount > 0 {
		update.Amount = amount
	}
	c.Payments = []payments.PaymentUpdate{update}
	if status != payments.StatusSucceeded {
		return c, nil
	}
	if err != nil {
		return invalid("%v", err)
	}
	if amount.Amount <= 0 {
		return invalid("amount %s is not positive", amount)
	}
	c.Entries = []payments.Entry{{
		Gateway: g.cfg.Name, Kind: payments.KindCharge, GatewayRef: n.PayID, GatewayPaymentID: n.PayID,
		PaymentID: update.PaymentID, Amount: amount, OccurredAt: req.ReceivedAt,
	}}
	return c, nil
}

// fromAPI takes the status and currency of a notification verified under
// the legacy MD5 sign from Anypay's API: MD5 signs neither, so a captured
// notification of an unpaid payment could otherwise be sent again saying
// paid, or in another currency. The signed amount must be the one Anypay
// holds. When the API cannot be reached the call fails unclassified, so the
// notification is answered 500 and Anypay sends it again.
func (g *Gateway) fromAPI(ctx context.Context, n notification) (notification, error) {
	list, err := g.Payments(ctx, n.PayID)
	if err != nil {
		return n, fmt.Errorf("anypay: look payment %s up to confirm an MD5-signed notification: %v", truncate(n.PayID), err)
	}
	for _, p := range list {
		if p.PayID == n.PayID && p.Amount.Decimal() == n.Amount {
			n.Status, n.Currency = p.Status, string(p.Amount.Currency)
			return n, nil
		}
	}
	return n, fmt.Errorf("anypay: MD5-signed notification of %s for %s: Anypay's API holds no such payment: %w",
		truncate(n.PayID), truncate(n.Amount), payments.ErrUnauthenticated)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// truncate keeps messages about a sender's text short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
