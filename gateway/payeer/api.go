package payeer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// Payeer's API (https://github.com/payeer/docs, rest-api/en.md) takes a
// form POST of account, apiId, apiPass and action, and answers JSON with
// auth_error ("0" when the credentials were accepted) and errors (empty,
// false, null or "0" when there were none).

// maxResponseBytes bounds what is read of an API answer.
const maxResponseBytes = 1 << 20

// ErrNoAPI is returned by calls that need Payeer's API when
// Config.APIAccount, APIID and APIKey are not set.
var ErrNoAPI = errors.New("payeer: no API user configured (APIAccount, APIID, APIKey)")

// APIError is an error answer of Payeer's API: an HTTP status other than
// 200, auth_error other than "0", or errors.
type APIError struct {
	// Op is the call ("authorization check", "payment details").
	Op         string
	HTTPStatus int
	// AuthError is true when Payeer refused the API user (a wrong id or
	// key, a blocked user, a request from an IP the user does not allow).
	AuthError bool
	// Errors are Payeer's error texts.
	Errors []string
}

// Error starts with "payeer: " and the call.
func (e *APIError) Error() string {
	msg := fmt.Sprintf("payeer: %s: HTTP %d", e.Op, e.HTTPStatus)
	if e.AuthError {
		msg += ": authorization refused"
	}
	if len(e.Errors) > 0 {
		msg += ": " + strings.Join(e.Errors, "; ")
	}
	return msg
}

// apiEnvelope is what every answer carries.
type apiEnvelope struct {
	AuthError json.RawMessage `json:"auth_error"`
	Errors    json.RawMessage `json:"errors"`
}

// call POSTs action with fields and decodes the answer into out.
func (g *Gateway) call(ctx context.Context, op, action string, fields url.Values, out any) error {
	if g.cfg.APIAccount == "" {
		return ErrNoAPI
	}
	form := url.Values{"account": {g.cfg.APIAccount}, "apiId": {g.cfg.APIID}, "apiPass": {g.cfg.APIKey}}
	if action != "" {
		form.Set("action", action)
	}
	for k, v := range fields {
		form[k] = v
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.apiURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("payeer: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := g.client.Do(req)
	if err != nil {
		// The URL holds no secret (they are in the body), so the error
		// can be returned as it is.
		return fmt.Errorf("payeer: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("payeer: %s: read answer: %w", op, err)
	}
	if len(raw) > maxResponseBytes {
		return fmt.Errorf("payeer: %s: answer over %d bytes", op, maxResponseBytes)
	}
	var env apiEnvelope
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &env) != nil {
		return &APIError{Op: op, HTTPStatus: resp.StatusCode, Errors: []string{"unexpected answer"}}
	}
	apiErr := &APIError{Op: op, HTTPStatus: resp.StatusCode, AuthError: !isNone(env.AuthError), Errors: errorTexts(env.Errors)}
	if apiErr.AuthError || len(apiErr.Errors) > 0 {
		return apiErr
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("payeer: %s: decode answer: %w", op, err)
		}
	}
	return nil
}

// isNone reports whether a JSON value means "no error": absent, null,
// false, 0, "0", "", [] or {}.
func isNone(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "", "null", "false", "0", `"0"`, `""`, "[]", "{}":
		return true
	}
	return false
}

// errorTexts flattens Payeer's errors, a list or a map of texts.
func errorTexts(raw json.RawMessage) []string {
	if isNone(raw) {
		return nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var named map[string]string
	if json.Unmarshal(raw, &named) == nil {
		for k, v := range named {
			list = append(list, k+": "+v)
		}
		return list
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return []string{text}
	}
	return []string{string(raw)}
}

// CheckHealth implements payments.HealthChecker with Payeer's
// authorization check, a call that moves nothing. Without an API user
// there is nothing to ask (the merchant form needs no API call), and it
// reports healthy.
func (g *Gateway) CheckHealth(ctx context.Context) error {
	if g.cfg.APIAccount == "" {
		return nil
	}
	return g.call(ctx, "authorization check", "", nil, nil)
}

// PaymentDetail is one payment Payeer holds for a merchant order, as its
// paymentDetails call describes it.
type PaymentDetail struct {
	// OrderID is m_orderid (Payeer's referenceId).
	OrderID string
	// Amount is the invoice's amount and currency (m_amount, m_curr).
	Amount      payments.Money
	Description string
	// Created and Processed are when the invoice was made and paid; zero
	// when Payeer gave none.
	Created, Processed time.Time
	// PaySystem is the method the customer paid with ("Payeer", a card).
	PaySystem string
	// Profit is what the merchant's account was credited, after MerchantFee.
	Profit, MerchantFee payments.Money
	// MerchantTransactionID and ProfitTransactionID are Payeer's
	// transaction numbers. Payeer does not document either as the
	// m_operation_id of the callback, which is why a lookup records
	// nothing in the ledger: only the callback does.
	MerchantTransactionID, ProfitTransactionID string
}

// paymentItem is one item of paymentDetails as Payeer writes it; amounts
// are JSON numbers, decoded as their text so that no float touches them.
type paymentItem struct {
	Amount                json.Number `json:"amount"`
	Currency              string      `json:"currency"`
	Description           string      `json:"description"`
	ReferenceID           string      `json:"referenceId"`
	CreatedTS             int64       `json:"created_ts"`
	ProcessedTS           int64       `json:"processed_ts"`
	PaySystemName         string      `json:"paySystemName"`
	ProfitAmount          json.Number `json:"profitAmount"`
	ProfitCurrency        string      `json:"profitCurrency"`
	ProfitTransactionID   string      `json:"profitTransactionId"`
	MerchantTransactionID string      `json:"merchantTransactionId"`
	MerchantFee           json.Number `json:"merchantFee"`
	MerchantCurrency      string      `json:"merchantCurrency"`
}

// PaymentDetails asks Payeer's API for the payments of a merchant order
// (action paymentDetails, with merchantId = m_shop and referenceId =
// m_orderid): Payeer's status lookup. It needs the API user of Config
// (ErrNoAPI otherwise). An order nobody paid has no items. It is a lookup
// only: the callback is what records money.
func (g *Gateway) PaymentDetails(ctx context.Context, orderID string) ([]PaymentDetail, error) {
	var answer struct {
		Items []paymentItem `json:"items"`
	}
	err := g.call(ctx, "payment details", "paymentDetails", url.Values{"merchantId": {g.cfg.ShopID}, "referenceId": {orderID}}, &answer)
	if err != nil {
		return nil, err
	}
	out := make([]PaymentDetail, 0, len(answer.Items))
	for _, it := range answer.Items {
		d := PaymentDetail{
			OrderID: it.ReferenceID, Description: it.Description, PaySystem: it.PaySystemName,
			MerchantTransactionID: it.MerchantTransactionID, ProfitTransactionID: it.ProfitTransactionID,
		}
		if it.CreatedTS > 0 {
			d.Created = time.Unix(it.CreatedTS, 0).UTC()
		}
		if it.ProcessedTS > 0 {
			d.Processed = time.Unix(it.ProcessedTS, 0).UTC()
		}
		for _, m := range []struct {
			dst      *payments.Money
			amount   json.Number
			currency string
		}{{&d.Amount, it.Amount, it.Currency}, {&d.Profit, it.ProfitAmount, it.ProfitCurrency}, {&d.MerchantFee, it.MerchantFee, it.MerchantCurrency}} {
			if m.amount == "" || m.currency == "" {
				continue
			}
			v, err := payments.ParseMoney(m.amount.String(), m.currency)
			if err != nil {
				return nil, fmt.Errorf("payeer: payment details of %s: %w", orderID, err)
			}
			*m.dst = v
		}
		out = append(out, d)
	}
	return out, nil
}
