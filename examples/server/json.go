package main

import (
	"time"

	"github.com/payrail/payments"
)

// paymentJSON is a payment as the API shows it: amounts as decimal strings
// in the currency's exponent, never floats.
func paymentJSON(p *payments.Payment) map[string]any {
	if p == nil {
		return nil
	}
	out := map[string]any{
		"id": p.ID, "gateway": p.Gateway, "gateway_id": p.GatewayID, "account": p.Account,
		"amount": p.Amount.Decimal(), "currency": p.Amount.Currency, "reference": p.Reference,
		"status": p.Status, "created_at": p.CreatedAt, "updated_at": p.UpdatedAt,
	}
	optional := map[string]string{"client_secret": p.ClientSecret, "redirect_url": p.RedirectURL}
	for k, v := range optional {
		if v != "" {
			out[k] = v
		}
	}
	if !p.CaptureBefore.IsZero() {
		out["capture_before"] = p.CaptureBefore.Format(time.RFC3339)
	}
	return out
}

func entriesJSON(entries []payments.Entry) []map[string]any {
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		out = append(out, map[string]any{
			"id": e.ID, "kind": e.Kind, "gateway_ref": e.GatewayRef, "account": e.Account,
			"amount": e.Amount.Decimal(), "currency": e.Amount.Currency, "occurred_at": e.OccurredAt,
		})
	}
	return out
}
