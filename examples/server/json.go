package main

import (
	"encoding/base64"
	"time"
	"unicode/utf8"

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
		out = append(out, entryJSON(e))
	}
	return out
}

func entryJSON(e payments.Entry) map[string]any {
	return map[string]any{
		"id": e.ID, "gateway": e.Gateway, "kind": e.Kind, "gateway_ref": e.GatewayRef,
		"payment_id": e.PaymentID, "account": e.Account, "reference": e.Reference,
		"amount": e.Amount.Decimal(), "currency": e.Amount.Currency,
		"occurred_at": e.OccurredAt, "recorded_at": e.RecordedAt,
	}
}

// notificationJSON is a journal row as listings show it: what an operator
// needs to tell what became of it, without its body or headers.
func notificationJSON(n *payments.Notification) map[string]any {
	return map[string]any{
		"id": n.ID, "gateway": n.Gateway, "received_at": n.ReceivedAt, "outcome": n.Outcome,
		"verified": n.Verified, "event_id": n.EventID, "event_type": n.EventType, "detail": n.Detail,
		"replay_of": n.ReplayOf, "resolved_by": n.ResolvedBy,
	}
}

// notificationWithBody adds the raw body, as the gateway sent it, for the
// operator who must read it to tell whose money it is. The headers stay out:
// they are the driver's, for verifying a replay.
func notificationWithBody(n *payments.Notification) map[string]any {
	out := notificationJSON(n)
	if utf8.Valid(n.Body) {
		out["body"] = string(n.Body)
	} else {
		out["body_base64"] = base64.StdEncoding.EncodeToString(n.Body)
	}
	return out
}

// webhookResultJSON is what a replay or an attribution did: its own journal
// row (whose outcome says recorded, duplicate or still parked), the entries
// it recorded or found recorded, and the payments it created.
func webhookResultJSON(res *payments.WebhookResult) map[string]any {
	out := map[string]any{
		"outcome":      res.Notification.Outcome,
		"notification": notificationJSON(&res.Notification),
		"entries":      []map[string]any{},
		"duplicates":   []map[string]any{},
		"created":      []map[string]any{},
	}
	if rec := res.Recorded; rec != nil {
		out["entries"] = entriesJSON(rec.Entries)
		out["duplicates"] = entriesJSON(rec.Duplicates)
		created := make([]map[string]any, 0, len(rec.Created))
		for i := range rec.Created {
			created = append(created, paymentJSON(&rec.Created[i]))
		}
		out["created"] = created
	}
	return out
}

func syncTaskJSON(t payments.SyncTask) map[string]any {
	out := map[string]any{
		"entry": entryJSON(t.Entry), "state": t.State, "attempts": t.Attempts,
		"last_error": t.LastError,
	}
	if !t.NextAttempt.IsZero() {
		out["next_attempt"] = t.NextAttempt
	}
	return out
}
