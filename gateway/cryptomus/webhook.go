package cryptomus

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/rates"
)

// ParseWebhook implements payments.Gateway for Cryptomus payment webhooks
// (https://doc.cryptomus.com/business/payments/webhook).
//
// Authentication: when Config.CheckWebhookIP is set the sender must be in
// Config.WebhookIPs; then the body's "sign" must equal
// md5(base64(content) + key), where content is PHP's
// json_encode($body_without_sign, JSON_UNESCAPED_UNICODE) rebuilt from the
// raw body, and key is the payment key (or the payout key, when
// configured). The comparison is constant-time. A body that is not a JSON
// object PHP could have written, or that lacks the sign, cannot be
// authenticated. All of these fail with an error wrapping
// payments.ErrUnauthenticated. Cryptomus signs no time, so there is no
// freshness window and WebhookRequest.Replay changes nothing.
//
// Translation, keyed by the invoice uuid so that a redelivered or resent
// webhook records nothing twice:
//
//	paid, paid_over            succeeded, and a charge (GatewayRef = uuid) of
//	                           the invoice amount in the invoice currency,
//	                           or per Config.Overpayment (only paid_over is
//	                           an overpayment the ledger books), settled in
//	                           USD at Cryptomus's own figure when it prices
//	                           that charge (see Settlement)
//	refund_paid                refunded, and a refund (GatewayRef = uuid) of
//	                           the same amount, negative
//	wrong_amount, cancel,
//	fail, system_fail          failed
//	check, process,
//	confirm_check,
//	wrong_amount_waiting       pending (no entry)
//	refund_process,
//	refund_fail, locked        nothing (journaled as ignored)
//
// A wrong_amount invoice records no money although the customer paid part
// of it: Cryptomus keeps that part in the merchant balance for the host to
// refund or settle by hand. Payout webhooks verify but are ignored.
//
// The account and reference come from additional_data when CreateCheckout
// put them there; otherwise the entry has no account and the Service takes
// it from the stored payment (or parks the notification). An order_id that
// is a library payment id ("pay_…") is reported as PaymentUpdate.PaymentID.
// An authenticated body with missing or malformed fields (no uuid, an
// amount that is not exact in its currency) fails with
// payments.ErrInvalidInput.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if req == nil {
		return nil, fmt.Errorf("cryptomus: no webhook request: %w", payments.ErrUnauthenticated)
	}
	if err := g.checkSender(ctx, req); err != nil {
		return nil, err
	}
	doc, err := g.verify(req.Body)
	if err != nil {
		return nil, err
	}
	n, err := readNotification(doc)
	if err != nil {
		return nil, err
	}
	return g.translate(n, req.ReceivedAt)
}

// verify parses the body and checks its sign.
func (g *Gateway) verify(body []byte) (jsonValue, error) {
	doc, err := parseJSON(body)
	if err != nil {
		return jsonValue{}, fmt.Errorf("cryptomus: webhook body cannot be verified: %v: %w", err, payments.ErrUnauthenticated)
	}
	content, sign, err := signedContent(doc)
	if err != nil {
		return jsonValue{}, fmt.Errorf("cryptomus: webhook body cannot be verified: %v: %w", err, payments.ErrUnauthenticated)
	}
	matched := 0
	for _, key := range []string{g.cfg.PaymentKey, g.cfg.PayoutKey} {
		if key != "" {
			matched |= subtle.ConstantTimeCompare([]byte(Sign(content, key)), []byte(sign))
		}
	}
	if matched != 1 {
		return jsonValue{}, fmt.Errorf("cryptomus: webhook sign mismatch: %w", payments.ErrUnauthenticated)
	}
	return doc, nil
}

// notification holds the webhook fields the driver reads.
type notification struct {
	Type, UUID, OrderID, Status                    string
	Amount, Currency, PaymentAmount, PayerCurrency string
	PaymentAmountUSD, MerchantAmount               string
	AdditionalData                                 string
}

// readNotification reads fields by exact key from the verified document,
// so that what is translated is exactly what was signed.
func readNotification(doc jsonValue) (notification, error) {
	var n notification
	fields := []struct {
		key string
		dst *string
	}{
		{"type", &n.Type}, {"uuid", &n.UUID}, {"order_id", &n.OrderID}, {"status", &n.Status},
		{"amount", &n.Amount}, {"currency", &n.Currency}, {"payment_amount", &n.PaymentAmount},
		{"payer_currency", &n.PayerCurrency}, {"payment_amount_usd", &n.PaymentAmountUSD},
		{"merchant_amount", &n.MerchantAmount},
		{"additional_data", &n.AdditionalData},
	}
	for _, f := range fields {
		v, ok := doc.member(f.key)
		switch {
		case !ok || v.kind == jsonNull:
		case v.kind == jsonString, v.kind == jsonNumber:
			*f.dst = v.text
		default:
			return notification{}, fmt.Errorf("cryptomus: webhook field %s is not a string: %w", f.key, payments.ErrInvalidInput)
		}
	}
	return n, nil
}

// statusRule is what one Cryptomus status records.
type statusRule struct {
	status payments.Status
	entry  payments.EntryKind
}

// ruleFor maps a Cryptomus status
// (https://doc.cryptomus.com/business/payments/payment-statuses); ok is
// false for a status that moves nothing.
func ruleFor(status string) (rule statusRule, ok bool) {
	switch status {
	case "paid", "paid_over":
		return statusRule{payments.StatusSucceeded, payments.KindCharge}, true
	case "refund_paid":
		return statusRule{payments.StatusRefunded, payments.KindRefund}, true
	case "wrong_amount", "cancel", "fail", "system_fail":
		return statusRule{status: payments.StatusFailed}, true
	case "check", "process", "confirm_check", "wrong_amount_waiting":
		return statusRule{status: payments.StatusPending}, true
	}
	return statusRule{}, false
}

// translate maps one notification, webhook or listed record, to what it
// records; at is when its money moved, as far as the driver knows.
func (g *Gateway) translate(n notification, at time.Time) (*payments.Changes, error) {
	c := &payments.Changes{EventID: n.UUID + ":" + n.Status, EventType: n.Status}
	switch n.Type {
	case "payment", "wallet", "":
	case "payout":
		c.Note = "payout notifications are not acted on"
		return c, nil
	default:
		c.Note = fmt.Sprintf("notification type %q is not acted on", n.Type)
		return c, nil
	}
	if n.UUID == "" {
		return nil, fmt.Errorf("cryptomus: webhook without uuid: %w", payments.ErrInvalidInput)
	}
	rule, ok := ruleFor(n.Status)
	if !ok {
		c.Note = fmt.Sprintf("status %q moves nothing", n.Status)
		return c, nil
	}
	data := parseCheckoutData(n.AdditionalData)
	update := payments.PaymentUpdate{
		GatewayID: n.UUID, Status: rule.status, Account: data.Account, Reference: data.Reference,
	}
	if payments.IsPaymentID(n.OrderID) {
		update.PaymentID = n.OrderID
	}
	invoiceAmount, amountErr := payments.ParseMoney(n.Amount, n.Currency)
	if amountErr == nil {
		update.Amount = invoiceAmount
	}
	c.Payments = []payments.PaymentUpdate{update}
	if rule.entry == "" {
		return c, nil
	}
	if amountErr != nil {
		return nil, fmt.Errorf("cryptomus: webhook %s %s: %w", n.UUID, n.Status, amountErr)
	}
	if invoiceAmount.Amount <= 0 {
		return nil, fmt.Errorf("cryptomus: webhook %s %s: amount %s is not positive: %w", n.UUID, n.Status, invoiceAmount, payments.ErrInvalidInput)
	}
	amount, overpaid, note := g.chargeAmount(n, invoiceAmount)
	c.Note = note
	var settled *payments.Conversion
	if rule.entry == payments.KindCharge {
		settled = usdSettlement(n, amount, at)
	} else {
		amount.Amount = -amount.Amount
	}
	c.Entries = []payments.Entry{{
		Gateway: g.cfg.Name, Kind: rule.entry, GatewayRef: n.UUID, GatewayPaymentID: n.UUID,
		PaymentID: update.PaymentID, Account: data.Account, Reference: data.Reference,
		Amount: amount, OccurredAt: at, Overpayment: overpaid, Settlement: settled,
	}}
	return c, nil
}

// chargeAmount applies the overpayment policy, reports whether the charge
// is an overpayment Cryptomus itself reported, and describes what the
// customer paid in crypto, which the ledger does not record.
//
// Under ChargePaidAmount, payment_amount is charged when it is in the
// invoice currency and above the invoice amount. Only a paid_over webhook
// flags it as an overpayment (payments.Entry.Overpayment), which the ledger
// books: Cryptomus's statuses say paid_over is "paid more than required"
// and paid "exactly as much as required"
// (https://doc.cryptomus.com/business/payments/payment-statuses), so a paid
// webhook carrying more contradicts itself, and the ledger parks its charge
// for review (payments.ErrMismatch) instead of booking it.
func (g *Gateway) chargeAmount(n notification, invoice payments.Money) (amount payments.Money, overpaid bool, note string) {
	note = fmt.Sprintf("invoice %s; customer paid %s %s; merchant received %s",
		invoice, orDash(n.PaymentAmount), orDash(n.PayerCurrency), orDash(n.MerchantAmount))
	if g.cfg.Overpayment != ChargePaidAmount || n.PaymentAmount == "" || !strings.EqualFold(n.PayerCurrency, n.Currency) {
		return invoice, false, note
	}
	paid, err := payments.ParseMoney(n.PaymentAmount, n.Currency)
	if err != nil {
		return invoice, false, note + "; payment_amount is not exact in the invoice currency, the invoice amount is recorded"
	}
	switch {
	case paid.Amount <= invoice.Amount:
		return invoice, false, note
	case n.Status == "paid_over":
		return paid, true, note + "; overpayment recorded"
	case n.Status == "paid":
		return paid, false, note + "; more than the invoice, although the status is paid, not paid_over"
	}
	return paid, false, note // refund_paid: the refund of what was charged
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseCheckoutData reads what CreateCheckout put in additional_data. Any
// other content (an invoice created elsewhere) yields nothing.
func parseCheckoutData(s string) checkoutData {
	var d checkoutData
	if strings.HasPrefix(s, "{") && json.Unmarshal([]byte(s), &d) == nil {
		return d
	}
	return checkoutData{}
}

// SettlementSource is the Source of the settlement figures the driver
// reports (payments.Conversion).
const SettlementSource = "cryptomus"

// usdSettlement is Cryptomus's own worth of a charge in USD, for the
// Service to keep when the account settles in USD (payments.Entry's
// Settlement), or nil.
//
// Its figure is payment_amount_usd, the "amount actually paid by client in
// USD" (https://doc.cryptomus.com/business/payments/webhook). It prices
// what the customer paid, which is not always what the charge records, so
// it is used only when the two are the same money: when the customer paid
// in the charge's currency exactly the charge's amount, or when a paid
// webhook (paid "exactly as much as required") reports a payment in
// another currency for a charge of the invoice amount. A paid_over whose
// charge is only the invoice amount, or a payment within Cryptomus's
// accuracy short of it, is left to the Service's RateSource; so is a USD
// charge whose USD figure is not the charge itself, and a figure that is
// missing, zero or not exact in cents (the check webhook's "0.00").
//
// The rate is USD per unit of the charge's currency, the figure divided by
// the charge, as rates.Quotient writes it: exact when the quotient
// terminates, else to 12 significant digits; the charge converted at it
// gives back the figure to the cent, which is checked. At is when the
// webhook arrived: Cryptomus dates neither the payment nor its figure.
func usdSettlement(n notification, charge payments.Money, at time.Time) *payments.Conversion {
	if n.PaymentAmountUSD == "" || !pricesCharge(n, charge) {
		return nil
	}
	usd, err := payments.ParseMoney(n.PaymentAmountUSD, "USD")
	if err != nil || usd.Amount <= 0 || (charge.Currency == "USD" && usd != charge) {
		return nil
	}
	rate, err := rates.Quotient(usd.Decimal(), charge.Decimal())
	if err != nil {
		return nil
	}
	if back, err := payments.Convert(charge, rate, "USD"); err != nil || back != usd {
		return nil // beyond a billion dollars the 12 digits may not give the cents back
	}
	return &payments.Conversion{Money: usd, Rate: rate, Source: SettlementSource, At: at}
}

// pricesCharge reports whether what the customer paid is the charge.
func pricesCharge(n notification, charge payments.Money) bool {
	payer, err := payments.ParseCurrency(n.PayerCurrency)
	switch {
	case err != nil:
		return false
	case payer == charge.Currency:
		paid, err := payments.ParseMoney(n.PaymentAmount, string(payer))
		return err == nil && paid == charge
	}
	invoice, err := payments.ParseMoney(n.Amount, n.Currency)
	return n.Status == "paid" && err == nil && invoice == charge
}
