package anypay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/payrail/payments"
)

// Anypay's API (anypay.io/doc/api, as client libraries implement it): a
// call to method m is a POST to <APIURL>/m/<API id> with the method's
// parameters and sign = APISign(m, API id, signed parameters, API key),
// answered with {"result": …} or {"error": {"code": …, "message": …}}.

// maxResponseBytes bounds what is read of an API answer.
const maxResponseBytes = 1 << 20

// ErrNoAPI is returned by calls that need Anypay's API when
// Config.APIID and APIKey are not set.
var ErrNoAPI = errors.New("anypay: no API credentials configured (APIID, APIKey)")

// APIError is an error answer of Anypay's API: an HTTP status other than
// 200, or an "error" object. Anypay's codes: 100s for the request and its
// credentials (101 authentication, 102 sign, 103 API disabled, 104 IP),
// 200s for payments, 300s for payouts.
type APIError struct {
	// Op is the method ("balance", "payments").
	Op         string
	HTTPStatus int
	Code       int
	Message    string
}

// Error starts with "anypay: " and the method.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("anypay: %s: HTTP %d", e.Op, e.HTTPStatus)
	if e.Code != 0 {
		msg += fmt.Sprintf(": error %d", e.Code)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// call POSTs method with params, signed over signed, and decodes "result"
// into out.
func (g *Gateway) call(ctx context.Context, method string, signed []string, params url.Values, out any) error {
	if g.cfg.APIID == "" {
		return ErrNoAPI
	}
	form := url.Values{}
	for k, v := range params {
		form[k] = v
	}
	form.Set("sign", APISign(method, g.cfg.APIID, signed, g.cfg.APIKey))
	endpoint := g.apiURL + "/" + method + "/" + url.PathEscape(g.cfg.APIID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("anypay: %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		// The URL carries the API id, not the key, and the sign is in the
		// body: the error can be returned as it is.
		return fmt.Errorf("anypay: %s: %w", method, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("anypay: %s: read answer: %w", method, err)
	}
	if len(raw) > maxResponseBytes {
		return fmt.Errorf("anypay: %s: answer over %d bytes", method, maxResponseBytes)
	}
	var env struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    json.Number `json:"code"`
			Message string      `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if resp.StatusCode != http.StatusOK || dec.Decode(&env) != nil {
		return &APIError{Op: method, HTTPStatus: resp.StatusCode, Message: "unexpected answer"}
	}
	if env.Error != nil {
		code, _ := env.Error.Code.Int64()
		return &APIError{Op: method, HTTPStatus: resp.StatusCode, Code: int(code), Message: env.Error.Message}
	}
	if len(env.Result) == 0 {
		return &APIError{Op: method, HTTPStatus: resp.StatusCode, Message: "no result"}
	}
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(env.Result))
		dec.UseNumber() // amounts are JSON numbers; they never pass through a float
		if err := dec.Decode(out); err != nil {
			return fmt.Errorf("anypay: %s: decode answer: %w", method, err)
		}
	}
	return nil
}

// CheckHealth implements payments.HealthChecker with Anypay's balance
// call, which moves nothing. Without API credentials there is nothing to
// ask (the payment link needs no API call), and it reports healthy.
func (g *Gateway) CheckHealth(ctx context.Context) error {
	if g.cfg.APIID == "" {
		return nil
	}
	return g.call(ctx, "balance", nil, nil, nil)
}

// Payment is one payment Anypay holds, as its payments method describes
// it.
type Payment struct {
	// TransactionID is Anypay's number of the payment.
	TransactionID string
	// PayID is the shop's (for checkouts of this driver, the library's
	// payment id).
	PayID string
	// Status is Anypay's: paid, waiting, refund, canceled, expired, error.
	Status string
	// Method is how the customer paid ("card", "sbp", …).
	Method string
	// Amount is what was asked; Profit what the project was credited, zero
	// when Anypay gave none or one with more decimals than the currency.
	Amount, Profit payments.Money
	Description    string
	// Date and PayDate are as Anypay writes them ("DD.MM.YYYY HH:MM:SS",
	// in a zone it does not state); PayDate is empty until paid.
	Date, PayDate string
}

// apiPayment is one payment as Anypay's API writes it; ids may come as
// numbers or strings.
type apiPayment struct {
	TransactionID json.RawMessage `json:"transaction_id"`
	PayID         json.RawMessage `json:"pay_id"`
	Status        string          `json:"status"`
	Method        string          `json:"method"`
	Amount        json.Number     `json:"amount"`
	Currency      string          `json:"currency"`
	Profit        json.Number     `json:"profit"`
	Desc          string          `json:"desc"`
	Date          string          `json:"date"`
	PayDate       string          `json:"pay_date"`
}

// Payments asks Anypay's API for the project's payments with pay_id payID
// (method payments, signed over the project id): Anypay's status lookup.
// It needs Config.APIID and APIKey (ErrNoAPI otherwise). A pay_id nobody
// paid has none. It is a lookup only: the notification is what records
// money. Profit is in the payment's currency.
func (g *Gateway) Payments(ctx context.Context, payID string) ([]Payment, error) {
	var result struct {
		Payments json.RawMessage `json:"payments"`
	}
	params := url.Values{"project_id": {g.cfg.MerchantID}, "pay_id": {payID}}
	if err := g.call(ctx, "payments", []string{g.cfg.MerchantID}, params, &result); err != nil {
		return nil, err
	}
	// Payments are an object keyed by transaction id, or [] when there
	// are none (PHP's empty array).
	var byID map[string]apiPayment
	if !isEmptyList(result.Payments) {
		dec := json.NewDecoder(bytes.NewReader(result.Payments))
		dec.UseNumber()
		if err := dec.Decode(&byID); err != nil {
			return nil, fmt.Errorf("anypay: payments: decode answer: %w", err)
		}
	}
	keys := make([]string, 0, len(byID))
	for k := range byID {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Payment, 0, len(byID))
	for _, k := range keys {
		p := byID[k]
		v := Payment{TransactionID: text(p.TransactionID), PayID: text(p.PayID), Status: p.Status, Method: p.Method,
			Description: p.Desc, Date: p.Date, PayDate: p.PayDate}
		if v.TransactionID == "" {
			v.TransactionID = k
		}
		var err error
		if v.Amount, err = payments.ParseMoney(p.Amount.String(), p.Currency); err != nil {
			return nil, fmt.Errorf("anypay: payments: %s: %w", v.TransactionID, err)
		}
		if profit, err := payments.ParseMoney(p.Profit.String(), p.Currency); err == nil {
			v.Profit = profit // informative: left zero when Anypay's figure is not exact in the currency
		}
		out = append(out, v)
	}
	return out, nil
}

func isEmptyList(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "[]", "{}":
		return true
	}
	return false
}

// text is a JSON string or number as text.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
