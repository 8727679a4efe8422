package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payrail/payments"
)

// maxRequestBytes bounds an init-payment body.
const maxRequestBytes = 64 << 10

// Field limits of an init-payment request.
const (
	maxIDBytes    = 128
	maxNameBytes  = 200
	maxEmailBytes = 254
)

// PaymentRequest is the body of POST /api/v1/init-payment, and, normalized,
// what the gate keeps of it.
type PaymentRequest struct {
	// ID is the merchant's own id of the payment; the gate is idempotent on
	// (merchant, ID).
	ID            string `json:"id"`
	CustomerEmail string `json:"customerEmail"`
	CustomerName  string `json:"customerName,omitempty"`
	// Amount is a decimal string in major units ("10.50"), parsed exactly by
	// the currency's exponent: never a JSON number, which clients parse as
	// a float. More precision than the currency has is refused, not rounded
	// ("10.505" USD); trailing zeros are exact and accepted ("10.500" USD is
	// 10.50).
	Amount      string `json:"amount"`
	Currency    string `json:"currency"`
	SuccessURL  string `json:"successUrl"`
	ErrorURL    string `json:"errorUrl"`
	PostbackURL string `json:"postbackUrl"`
	// Gateway is optional: without it the merchant's only gateway is used,
	// or the customer chooses among several.
	Gateway string `json:"gateway,omitempty"`
}

// initAnswer is the success answer of init-payment.
type initAnswer struct {
	Status string `json:"status"`
	ID     string `json:"id"`
	URL    string `json:"url"`
}

func (g *Gate) initPayment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m, ok := g.authorize(w, r)
	if !ok {
		return
	}
	var req PaymentRequest
	if err := readJSON(w, r, maxRequestBytes, &req); err != nil {
		g.writeError(w, r, err)
		return
	}
	norm, ae := g.normalize(m, req)
	if ae != nil {
		g.writeError(w, r, ae)
		return
	}
	rec, err := g.record(ctx, m, norm)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	if rec.Gateway != "" {
		if _, err := g.ensureCheckout(ctx, m, rec, rec.Gateway); err != nil {
			g.writeError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, initAnswer{Status: ResponseSuccess, ID: rec.ID, URL: g.link(PathPay, rec.ID)})
}

// authorize finds the merchant of the request's "Authorization: Token …",
// answering 401 when there is none.
func (g *Gate) authorize(w http.ResponseWriter, r *http.Request) (*Merchant, bool) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Token") {
		g.writeError(w, r, &apiError{status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "send Authorization: Token <merchant token>"})
		return nil, false
	}
	m, err := authenticate(r.Context(), g.cfg.Merchants, strings.TrimSpace(token))
	if err != nil {
		if errors.Is(err, payments.ErrUnauthenticated) {
			err = &apiError{status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "unknown or revoked token"}
		}
		g.writeError(w, r, err)
		return nil, false
	}
	return m, true
}

// normalize validates a request and returns it in the one form the gate
// keeps and fingerprints, so that "10.5" and "10.50", or "usd" and "USD",
// are the same request.
func (g *Gate) normalize(m *Merchant, req PaymentRequest) (PaymentRequest, *apiError) {
	var n PaymentRequest
	var ae *apiError
	if n.ID, ae = checkText("id", req.ID, maxIDBytes, true); ae != nil {
		return n, ae
	}
	if strings.ContainsFunc(n.ID, unicode.IsSpace) {
		return n, fieldError("id", "must not contain spaces")
	}
	if n.CustomerEmail, ae = checkEmail(req.CustomerEmail); ae != nil {
		return n, ae
	}
	if n.CustomerName, ae = checkText("customerName", req.CustomerName, maxNameBytes, false); ae != nil {
		return n, ae
	}
	money, ae := checkAmount(req.Amount, req.Currency)
	if ae != nil {
		return n, ae
	}
	n.Amount, n.Currency = money.Decimal(), string(money.Currency)
	if n.SuccessURL, ae = checkReturnURL("successUrl", req.SuccessURL, g.cfg.AllowHTTP); ae != nil {
		return n, ae
	}
	if n.ErrorURL, ae = checkReturnURL("errorUrl", req.ErrorURL, g.cfg.AllowHTTP); ae != nil {
		return n, ae
	}
	if n.PostbackURL, ae = checkPostbackURL("postbackUrl", req.PostbackURL, g.cfg.PostbackAllow); ae != nil {
		return n, ae
	}
	if n.Gateway, ae = g.checkGateway(m, req.Gateway); ae != nil {
		return n, ae
	}
	return n, nil
}

func checkText(field, s string, maxBytes int, required bool) (string, *apiError) {
	if s == "" && required {
		return "", fieldError(field, "is required")
	}
	if len(s) > maxBytes {
		return "", fieldError(field, fmt.Sprintf("must be at most %d bytes", maxBytes))
	}
	if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return "", fieldError(field, "must be text without control characters")
	}
	return s, nil
}

// checkEmail accepts a bare address (no display name, no comments), as
// net/mail parses it.
func checkEmail(s string) (string, *apiError) {
	if s == "" {
		return "", fieldError("customerEmail", "is required")
	}
	a, err := mail.ParseAddress(s)
	if len(s) > maxEmailBytes || err != nil || a.Name != "" || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return "", fieldError("customerEmail", "must be an email address such as name@example.com")
	}
	return s, nil
}

// checkAmount parses the amount exactly (payments.ParseMoney) and wants it
// positive.
func checkAmount(amount, currency string) (payments.Money, *apiError) {
	if currency == "" {
		return payments.Money{}, fieldError("currency", "is required")
	}
	cur, err := payments.ParseCurrency(currency)
	if err != nil {
		return payments.Money{}, fieldError("currency", "must be a currency code the gate knows, such as USD")
	}
	if amount == "" {
		return payments.Money{}, fieldError("amount", "is required")
	}
	money, err := payments.ParseMoney(amount, string(cur))
	if err != nil {
		exp, _ := cur.Exponent()
		return payments.Money{}, fieldError("amount", fmt.Sprintf("must be a decimal string with at most %d decimals for %s, such as \"10.50\"", exp, cur))
	}
	if money.Amount <= 0 {
		return payments.Money{}, fieldError("amount", "must be greater than zero")
	}
	return money, nil
}

// checkGateway returns the gateway the payment goes to: the requested one
// when the merchant may use it, else the merchant's only one, else "" for
// the customer to choose.
func (g *Gate) checkGateway(m *Merchant, requested string) (string, *apiError) {
	usable := g.usableGateways(m)
	if len(usable) == 0 {
		return "", &apiError{status: http.StatusUnprocessableEntity, Code: CodeGatewayNotAllowed, Field: "gateway",
			Message: "no gateway is enabled for this merchant"}
	}
	if requested == "" {
		if len(usable) == 1 {
			return usable[0], nil
		}
		return "", nil
	}
	if !slices.Contains(usable, requested) {
		return "", &apiError{status: http.StatusUnprocessableEntity, Code: CodeGatewayNotAllowed, Field: "gateway",
			Message: "gateway: not enabled for this merchant; enabled: " + strings.Join(usable, ", ")}
	}
	return requested, nil
}

// usableGateways are the merchant's gateways that the Service has and that
// can create a checkout.
func (g *Gate) usableGateways(m *Merchant) []string {
	var out []string
	for _, name := range m.Gateways {
		if gw, ok := g.svc.Gateway(name); ok {
			if _, ok := gw.(payments.CheckoutCreator); ok && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	return out
}

func fingerprint(req PaymentRequest) string {
	b, _ := json.Marshal(req) // a struct of strings always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// record returns the gate's record of the request: a new one, or the one
// the same request made before; another request under the same id is a
// conflict.
func (g *Gate) record(ctx context.Context, m *Merchant, req PaymentRequest) (*Record, error) {
	fp := fingerprint(req)
	rec := &Record{ID: newGateID(), Merchant: m.ID, MerchantPaymentID: req.ID, Fingerprint: fp, Request: req,
		Gateway: req.Gateway,
		// SQL stores keep microseconds, and transaction exports page by
		// (CreatedAt, ID): every store must hold the instant the cursor
		// names.
		CreatedAt: g.now().UTC().Truncate(time.Microsecond)}
	err := g.cfg.Records.CreateRecord(ctx, rec)
	if errors.Is(err, payments.ErrConflict) {
		if rec, err = g.cfg.Records.RecordByMerchant(ctx, m.ID, req.ID); err != nil {
			return nil, err
		}
		if rec.Fingerprint != fp {
			return nil, &apiError{status: http.StatusConflict, Code: CodeIdempotencyConflict,
				Message: "id: a payment with this id was initiated with a different body"}
		}
		return rec, nil
	}
	return rec, err
}

// ensureCheckout returns the library payment of rec, creating the checkout
// at gateway when rec has none yet. A retry after a gateway failure tries
// again; of two concurrent checkouts the first attached wins and the other
// is left pending at its gateway, where nobody is sent to pay it.
func (g *Gate) ensureCheckout(ctx context.Context, m *Merchant, rec *Record, gateway string) (*payments.Payment, error) {
	// Serialize checkouts of one record within this process, and re-read it
	// under the lock, so that concurrent retries of one request start one
	// checkout; across processes AttachPayment still picks one winner.
	lock := &g.checkoutLocks[stripe(rec.ID)]
	lock.Lock()
	defer lock.Unlock()
	if rec.PaymentID == "" {
		stored, err := g.cfg.Records.Record(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		*rec = *stored
	}
	if rec.PaymentID != "" {
		return g.svc.Payment(ctx, rec.PaymentID)
	}
	money, err := payments.ParseMoney(rec.Request.Amount, rec.Request.Currency)
	if err != nil {
		return nil, fmt.Errorf("gate: stored amount of %s: %w", rec.ID, err)
	}
	ref, err := payments.NewReference("gate", rec.ID)
	if err != nil {
		return nil, err
	}
	p, err := g.svc.Checkout(ctx, gateway, payments.CheckoutRequest{
		// The merchant is the account: the ledger's balances are then what
		// the gate owes each merchant, and the host's BalanceService can
		// credit them.
		Account:     m.ID,
		Amount:      money,
		Reference:   ref.String(),
		Description: checkoutDescription(m, rec),
		ReturnURL:   g.link(PathSuccess, rec.ID),
		CancelURL:   g.link(PathError, rec.ID),
		// The customer's email and name stay with the gate: the library's
		// CheckoutRequest has no field for them, and metadata is no place
		// for personal data.
		Metadata: map[string]string{"gate_payment": rec.ID, "merchant": m.ID},
	})
	if err != nil {
		g.log.WarnContext(ctx, "gate: checkout failed", "gate_payment", rec.ID, "gateway", gateway, "error", err)
		return nil, &apiError{status: http.StatusBadGateway, Code: CodeGatewayUnavailable,
			Message: "the gateway did not start the payment; retrying the same request is safe"}
	}
	stored, err := g.cfg.Records.AttachPayment(ctx, rec.ID, gateway, p.ID)
	if err != nil {
		return nil, err
	}
	*rec = *stored
	if stored.PaymentID != p.ID {
		return g.svc.Payment(ctx, stored.PaymentID)
	}
	return p, nil
}

func checkoutDescription(m *Merchant, rec *Record) string {
	name := m.Name
	if name == "" {
		name = m.ID
	}
	return name + " " + rec.MerchantPaymentID
}

// stripe picks the checkout lock of a record id.
func stripe(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % checkoutStripes)
}

// checkoutStripes is how many locks serialize checkouts.
const checkoutStripes = 64
