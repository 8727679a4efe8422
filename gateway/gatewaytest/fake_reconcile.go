package gatewaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/payrail/payments"
)

var _ payments.Reconciler = (*Fake)(nil)

// movement is one thing that moved at the Fake's gateway: its event, as
// its notification carries it.
type movement struct {
	seq  int
	at   time.Time
	body []byte
}

// Move makes ev happen at the Fake's gateway at time at: the money moves
// whether or not its notification is delivered, and ListMoved lists it. It
// returns that notification, signed at at, for the test to deliver or to
// drop. The notification and the record carry the same event (with
// OccurredAt set to at), so they record the same entries, once.
func (f *Fake) Move(ev Event, at time.Time) *payments.WebhookRequest {
	ev.OccurredAt = at.UTC().Format(time.RFC3339Nano)
	req := f.Request(ev, at)
	f.mu.Lock()
	f.moved = append(f.moved, movement{seq: len(f.moved) + 1, at: at, body: req.Body})
	f.mu.Unlock()
	return req
}

// FailListing makes the next ListMoved fail with err, as a gateway's API
// that is down would.
func (f *Fake) FailListing(err error) {
	f.mu.Lock()
	f.listErr = err
	f.mu.Unlock()
}

// ListMoved implements payments.Reconciler: the movements made with Move
// after the cursor — their sequence number — in the order they were made,
// q.Limit at a time; without a cursor, those at or after q.Since. The
// Fake's listing is by sequence and never misses a movement, so it ignores
// q.Lookback. A page is Complete for the window from its earliest movement
// to just after its latest unless an earlier movement falls in it (Move
// called out of time order).
func (f *Fake) ListMoved(ctx context.Context, q payments.MovedQuery) (*payments.MovedPage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "list "+q.Cursor)
	if err := f.listErr; err != nil {
		f.listErr = nil
		return nil, err
	}
	after := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 || n > len(f.moved) {
			return nil, fmt.Errorf("%s: cursor %q is not one the fake issued: %w", f.name, q.Cursor, payments.ErrInvalidInput)
		}
		after = n
	}
	page := &payments.MovedPage{Next: q.Cursor}
	listed := map[int]bool{}
	for _, m := range f.moved[after:] {
		if q.Limit > 0 && len(page.Records) == q.Limit {
			page.More = true
			break
		}
		page.Next = strconv.Itoa(m.seq)
		if q.Cursor == "" && m.at.Before(q.Since) {
			continue
		}
		if page.From.IsZero() || m.at.Before(page.From) {
			page.From = m.at
		}
		if end := m.at.Add(time.Nanosecond); end.After(page.Until) {
			page.Until = end
		}
		listed[m.seq] = true
		page.Records = append(page.Records, m.body)
	}
	page.Complete = true
	for _, m := range f.moved {
		if !listed[m.seq] && !m.at.Before(page.From) && m.at.Before(page.Until) {
			page.Complete = false
		}
	}
	return page, nil
}

// ParseRecord implements payments.RecordParser: a record is the event of a
// movement, as its notification carries it, without the signature — the
// listing that returned it authenticated it.
func (f *Fake) ParseRecord(ctx context.Context, body []byte) (*payments.Changes, error) {
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("%s: decode record: %v: %w", f.name, err, payments.ErrInvalidInput)
	}
	if ev.ID == "" || ev.Type == "" {
		return nil, fmt.Errorf("%s: record without id or type: %w", f.name, payments.ErrInvalidInput)
	}
	return f.translate(ev)
}
