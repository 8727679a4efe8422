package storetest

import (
	"net/http"
	"slices"
	"time"

	"github.com/payrail/payments"
)

func usd(minor int64) payments.Money { return payments.Money{Amount: minor, Currency: "USD"} }

// movement builds an entry of the suite's gateway. amountMinor is signed as
// the kind requires; tests that want a malformed entry pass a wrong sign.
func movement(kind payments.EntryKind, ref, account string, amountMinor int64, currency payments.Currency) payments.Entry {
	return payments.Entry{
		Kind:       kind,
		GatewayRef: ref,
		Account:    account,
		Amount:     payments.Money{Amount: amountMinor, Currency: currency},
		OccurredAt: at(-time.Hour),
	}
}

func charge(ref, account string, amountMinor int64) payments.Entry {
	return movement(payments.KindCharge, ref, account, amountMinor, "USD")
}

// chargeOf builds a charge that carries no account, only the gateway's id of
// its payment, so the store must attribute it.
func chargeOf(ref, gatewayPaymentID string, amountMinor int64) payments.Entry {
	e := charge(ref, "", amountMinor)
	e.GatewayPaymentID = gatewayPaymentID
	return e
}

// batchAt builds a batch of the suite's gateway committed at now.
func batchAt(now time.Time, entries ...payments.Entry) *payments.Batch {
	return &payments.Batch{Gateway: gateway, Now: now, Entries: entries}
}

// newPayment builds a pending payment with every persisted field set.
func newPayment(id, gatewayID, account string) *payments.Payment {
	return &payments.Payment{
		ID:            id,
		Gateway:       gateway,
		GatewayID:     gatewayID,
		Account:       account,
		Amount:        usd(1500),
		Reference:     "order:" + id + ":k3j2h1",
		Status:        payments.StatusPending,
		RedirectURL:   "https://pay.example/checkout/" + id,
		CaptureBefore: at(7 * 24 * time.Hour),
		Metadata:      map[string]string{"order": id, "note": "héllo, wörld"},
		Version:       1,
		CreatedAt:     at(-2 * time.Hour),
		UpdatedAt:     at(-2 * time.Hour),
	}
}

// newNotification builds a journal row with every field set; its body is
// deliberately not valid UTF-8 and holds NUL bytes, which a store must keep
// byte for byte.
func newNotification(id string, receivedAt time.Time) *payments.Notification {
	return &payments.Notification{
		ID:         id,
		Gateway:    gateway,
		ReceivedAt: receivedAt,
		RemoteAddr: "203.0.113.7:49152",
		Header: http.Header{
			"Stripe-Signature": {"t=1710408413,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
			"X-Forwarded-For":  {"198.51.100.1", "203.0.113.7"},
		},
		Body:      []byte("{\"id\":\"evt_1\",\"raw\":\"\xff\xfe\x00\xc3\x28\"}\x00"),
		Verified:  true,
		EventID:   "evt_" + id,
		EventType: "payment_intent.succeeded",
		Detail:    "detail of " + id,
	}
}

// The norm functions bring what a store returns to one representation (UTC
// times, nil for empty maps and slices) so that whole values can be compared
// with assert.Equal. They change no information the contract cares about.

func normTime(t time.Time) time.Time { return t.UTC() }

func normPayment(p payments.Payment) payments.Payment {
	p.CaptureBefore = normTime(p.CaptureBefore)
	p.CreatedAt = normTime(p.CreatedAt)
	p.UpdatedAt = normTime(p.UpdatedAt)
	if len(p.Metadata) == 0 {
		p.Metadata = nil
	}
	return p
}

func normEntry(e payments.Entry) payments.Entry {
	e.Settlement = normConversion(e.Settlement)
	e.OccurredAt = normTime(e.OccurredAt)
	e.RecordedAt = normTime(e.RecordedAt)
	return e
}

func normEntries(list []payments.Entry) []payments.Entry { return normAll(list, normEntry) }

func normBalance(b payments.Balance) payments.Balance {
	b.UpdatedAt = normTime(b.UpdatedAt)
	return b
}

func normNotification(n payments.Notification) payments.Notification {
	n.ReceivedAt = normTime(n.ReceivedAt)
	if len(n.Header) == 0 {
		n.Header = nil
	}
	if len(n.Body) == 0 {
		n.Body = nil
	}
	return n
}

func normTask(t payments.SyncTask) payments.SyncTask {
	t.Entry = normEntry(t.Entry)
	t.NextAttempt = normTime(t.NextAttempt)
	t.LeaseUntil = normTime(t.LeaseUntil)
	return t
}

func normTasks(list []payments.SyncTask) []payments.SyncTask { return normAll(list, normTask) }

// normAll normalizes every element; an empty list comes back empty, not nil,
// so that "no rows" compares equal whatever a store returns.
func normAll[T any](list []T, norm func(T) T) []T {
	out := make([]T, 0, len(list))
	for _, v := range list {
		out = append(out, norm(v))
	}
	return out
}

func entryIDs(list []payments.Entry) []string {
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, e.ID)
	}
	return ids
}

func taskIDs(list []payments.SyncTask) []string {
	ids := make([]string, 0, len(list))
	for _, t := range list {
		ids = append(ids, t.Entry.ID)
	}
	return ids
}

func notificationIDs(list []payments.Notification) []string {
	ids := make([]string, 0, len(list))
	for _, n := range list {
		ids = append(ids, n.ID)
	}
	return ids
}

// sortedIDs returns ids sorted, for comparing sets.
func sortedIDs(ids []string) []string {
	return slices.Sorted(slices.Values(ids))
}
