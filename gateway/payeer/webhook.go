package payeer

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/remoteip"
)

// ParseWebhook implements payments.Gateway for Payeer's status callback, a
// form POST to the status URL.
//
// Authentication: when Config.CheckSenderIP is set the sender must be in
// Config.SenderIPs (through Config.TrustedProxies); then m_sign must equal
// Sign over the callback's fields in Payeer's order (m_operation_id,
// m_operation_ps, m_operation_date, m_operation_pay_date, m_shop,
// m_orderid, m_amount, m_curr, m_desc, m_status, and m_params when the
// callback has it), compared in constant time; and m_shop must be
// Config.ShopID. A body that is not a form, lacks m_operation_id or
// m_sign (Payeer's handler checks isset of both before anything), or
// repeats a signed field, cannot be authenticated. All of these fail with
// an error wrapping payments.ErrUnauthenticated. Fields Payeer adds but
// does not sign (summa_out, client_email, lang, …) are never read.
//
// Translation, keyed by m_operation_id so that a redelivery records
// nothing twice:
//
//	m_status success   succeeded, and a charge (GatewayRef =
//	                   m_operation_id) of m_amount in m_curr
//	m_status fail      failed
//	any other          nothing (journaled as ignored)
//
// The payment is named by m_orderid (PaymentUpdate.GatewayID, and
// PaymentID when it is a library id): the checkout gave the payment that
// gateway id, so the callback finds it and its account. The account and
// reference also come back in m_params when the checkout sent them there
// (Config.ParamsKey; see echoedReference). A callback for an order the
// library never made names no account and is parked. A charge
// in another currency than its payment's, or above its amount, is parked
// by the ledger (payments.ErrMismatch). A verified callback whose amount
// is not exact in its currency, or whose m_operation_id or m_orderid is
// empty, fails with payments.ErrInvalidInput. Payeer signs no time, so
// WebhookRequest.Replay changes nothing.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if req == nil {
		return nil, fmt.Errorf("payeer: no callback: %w", payments.ErrUnauthenticated)
	}
	if err := g.checkSender(ctx, req); err != nil {
		return nil, err
	}
	form, err := g.verify(req.Body)
	if err != nil {
		return nil, err
	}
	return g.translate(form, req)
}

// checkSender enforces Config.CheckSenderIP.
func (g *Gateway) checkSender(ctx context.Context, req *payments.WebhookRequest) error {
	if !g.cfg.CheckSenderIP {
		return nil
	}
	sender, err := g.senders.Check(req.RemoteAddr, req.Header)
	if errors.Is(err, remoteip.ErrNotAllowed) {
		g.log.WarnContext(ctx, "payeer: callback from a sender not in SenderIPs", "sender", sender.String())
		return fmt.Errorf("payeer: callback sender %s is not allowed: %w", sender, payments.ErrUnauthenticated)
	}
	if err != nil {
		return fmt.Errorf("payeer: callback sender: %v: %w", err, payments.ErrUnauthenticated)
	}
	return nil
}

// singleFields are the fields a callback may carry once only.
var singleFields = append(append([]string(nil), statusFields...), "m_params", "m_sign")

// callback is a verified callback's signed fields.
type callback struct {
	OperationID, OrderID, Amount, Currency, Status string
	// Params is m_params as the callback carries it, "" when absent.
	Params string
}

// verify parses the form and checks its m_sign.
func (g *Gateway) verify(body []byte) (callback, error) {
	unauthenticated := func(format string, args ...any) (callback, error) {
		return callback{}, fmt.Errorf("payeer: callback cannot be verified: "+format+": %w", append(args, payments.ErrUnauthenticated)...)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return unauthenticated("not a form")
	}
	for _, name := range singleFields {
		if len(form[name]) > 1 {
			// PHP keeps the last of a repeated field and Go the first: a
			// body that repeats one could be read otherwise than signed.
			return unauthenticated("field %s repeated", name)
		}
	}
	if _, ok := form["m_operation_id"]; !ok {
		return unauthenticated("no m_operation_id")
	}
	sign, ok := form["m_sign"]
	if !ok {
		return unauthenticated("no m_sign")
	}
	values := make([]string, 0, len(statusFields)+1)
	for _, name := range statusFields {
		values = append(values, form.Get(name)) // absent is "", as PHP's implode makes it
	}
	if params, ok := form["m_params"]; ok { // isset() in Payeer's handler: present, even empty
		values = append(values, params[0])
	}
	want := Sign(g.cfg.SecretKey, values...)
	if subtle.ConstantTimeCompare([]byte(want), []byte(sign[0])) != 1 {
		return unauthenticated("m_sign mismatch")
	}
	if shop := form.Get("m_shop"); shop != g.cfg.ShopID {
		// Signed with this merchant's key for another shop: a host that
		// shares one key between shops must not book one's money as the
		// other's.
		return unauthenticated("m_shop %q is not this shop", truncate(shop))
	}
	return callback{
		OperationID: form.Get("m_operation_id"), OrderID: form.Get("m_orderid"),
		Amount: form.Get("m_amount"), Currency: form.Get("m_curr"), Status: form.Get("m_status"),
		Params: form.Get("m_params"),
	}, nil
}

func (g *Gateway) translate(cb callback, req *payments.WebhookRequest) (*payments.Changes, error) {
	invalid := func(format string, args ...any) (*payments.Changes, error) {
		return nil, fmt.Errorf("payeer: callback %s: "+format+": %w", append([]any{truncate(cb.OperationID)}, append(args, payments.ErrInvalidInput)...)...)
	}
	if cb.OperationID == "" || len(cb.OperationID) > 128 {
		return invalid("m_operation_id is empty or too long")
	}
	if cb.OrderID == "" || len(cb.OrderID) > 256 {
		return invalid("m_orderid is empty or too long")
	}
	c := &payments.Changes{EventID: cb.OperationID + ":" + cb.Status, EventType: cb.Status}
	var status payments.Status
	switch cb.Status {
	case "success":
		status = payments.StatusSucceeded
	case "fail":
		status = payments.StatusFailed
	default:
		c.Note = fmt.Sprintf("m_status %q moves nothing", truncate(cb.Status))
		return c, nil
	}
	ref := echoedReference(g.plainParams(cb))
	update := payments.PaymentUpdate{GatewayID: cb.OrderID, Status: status, Account: ref[referenceAccount], Reference: ref[referenceReference]}
	if payments.IsPaymentID(cb.OrderID) {
		update.PaymentID = cb.OrderID
	}
	amount, err := payments.ParseMoney(cb.Amount, cb.Currency)
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
		Gateway: g.cfg.Name, Kind: payments.KindCharge, GatewayRef: cb.OperationID,
		GatewayPaymentID: cb.OrderID, PaymentID: update.PaymentID, Account: update.Account, Reference: update.Reference,
		Amount: amount, OccurredAt: req.ReceivedAt,
	}}
	return c, nil
}

// plainParams is the callback's m_params as JSON. Payeer posts m_params
// back to the status URL decrypted, as the JSON the shop encrypted:
// handlers in production read it with json_decode($_POST['m_params']) and
// take ['reference']. The format is not in the documentation this driver
// was written from, so an m_params that is not JSON is also tried as the
// encrypted form the checkout sent, with Config.ParamsKey; it is signed
// with the rest either way, so what it says is what the checkout said.
func (g *Gateway) plainParams(cb callback) string {
	if cb.Params == "" || strings.HasPrefix(cb.Params, "{") || g.cfg.ParamsKey == "" {
		return cb.Params
	}
	plain, err := DecryptParams(g.cfg.ParamsKey, cb.OrderID, cb.Params)
	if err != nil {
		return ""
	}
	return string(plain)
}

// echoedReference reads the reference a checkout put in m_params. Anything
// else (absent, not JSON, no reference) yields nothing, and the stored
// payment supplies the account as usual.
func echoedReference(params string) map[string]string {
	if !strings.HasPrefix(params, "{") {
		return nil
	}
	var p struct {
		Reference map[string]json.RawMessage `json:"reference"`
	}
	if json.Unmarshal([]byte(params), &p) != nil {
		return nil
	}
	out := map[string]string{}
	for _, k := range []string{referenceAccount, referenceReference} {
		var v string
		if json.Unmarshal(p.Reference[k], &v) == nil && v != "" && len(v) <= 256 {
			out[k] = v
		}
	}
	return out
}

// safeOrderID reports whether an order id may be echoed in a reply: up to
// 64 letters, digits, '_', '-' and '.'. The reply must name the order, and
// must never reflect whatever a sender put in the form.
func safeOrderID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// truncate keeps messages about a sender's text short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
