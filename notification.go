package payments

import (
	"net/http"
	"time"
)

// Outcome is what became of one inbound notification.
type Outcome string

// Notification outcomes.
const (
	// OutcomeRecorded: something new was recorded (an entry or a status change).
	OutcomeRecorded Outcome = "recorded"
	// OutcomeDuplicate: verified, but everything in it was already recorded.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeIgnored: verified, but of a kind the driver does not act on.
	OutcomeIgnored Outcome = "ignored"
	// OutcomeRejected: failed verification or could not be parsed.
	OutcomeRejected Outcome = "rejected"
	// OutcomeParked: verified, but its money could not be attributed to an
	// account; kept for the host to attribute and replay.
	OutcomeParked Outcome = "parked"
	// OutcomeFailed: verified, but the Store failed to record it; the
	// gateway was answered 5xx and will retry.
	OutcomeFailed Outcome = "failed"
)

// Notification is one inbound webhook as received, kept in the journal
// whatever its outcome. It has no foreign key to payments: it outlives them.
type Notification struct {
	ID         string
	Gateway    string
	ReceivedAt time.Time
	RemoteAddr string
	// Header holds only the headers the driver needs (see HeaderNamer), so
	// the journal never keeps cookies or authorization headers.
	Header http.Header
	// Body is the raw body, byte for byte, of a notification that
	// verified. Of one that did not, which anyone can send, the journal
	// keeps only the first UnverifiedBodyPrefix bytes, with BodyLen and
	// BodySHA256 (hex) of the whole body; both are zero when Body is whole.
	Body       []byte
	BodyLen    int64
	BodySHA256 string
	// Verified reports whether the driver authenticated it.
	Verified bool
	Outcome  Outcome
	// EventID and EventType are the gateway's, when it could be parsed.
	EventID   string
	EventType string
	// Detail says why it was rejected, ignored, parked or not recorded: a
	// driver's or the Store's error text. It is never sent back to the
	// gateway; show it to operators, not to the public (a Store's error
	// may name its database host).
	Detail string
	// ReplayOf is the journal row this one replays (Service.Replay,
	// Service.Attribute); empty for a delivery.
	ReplayOf string
	// Source is where the row came from: empty for a delivery to a
	// webhook, SourceRecord for a record a driver read from its gateway's
	// API (Service.Record).
	Source string
	// ResolvedBy is set on a row once a replay of it has recorded what it
	// carried, or found it recorded: the id of that replay's row. A parked
	// row without it still waits for the host.
	ResolvedBy string
}

// SourceRecord marks a journal row that a driver read from its gateway's
// API rather than received (Notification.Source).
const SourceRecord = "record"

// UnverifiedBodyPrefix is how much of the body of a notification that did
// not verify the journal keeps: enough to see what was sent, too little for
// a sender without the gateway's key to fill the disk with.
const UnverifiedBodyPrefix = 4 << 10

// NotificationPrune selects journal rows to delete (Store.PruneNotifications).
type NotificationPrune struct {
	// Outcome is the outcome of the rows to delete.
	Outcome Outcome
	// Before: rows received at or after it are kept.
	Before time.Time
	// Limit caps how many rows one call deletes, so that pruning a large
	// journal never holds a long transaction; 0 means DefaultListLimit.
	Limit int
}

// NotificationFilter selects journal rows, newest first. Empty fields match
// everything.
type NotificationFilter struct {
	Gateway string
	Outcome Outcome
	// Unresolved keeps only rows no replay has resolved yet (see
	// Notification.ResolvedBy): with OutcomeParked, the money still
	// waiting for the host.
	Unresolved bool
	// Limit caps the page; 0 means DefaultListLimit.
	Limit int
	// After is the cursor a previous page returned: the page starts after
	// it. Empty starts with the newest row.
	After string
}

// WebhookRequest is one inbound webhook as a driver sees it.
type WebhookRequest struct {
	Header     http.Header
	Body       []byte
	RemoteAddr string
	ReceivedAt time.Time
	// Replay is set when the Service replays a journaled notification that
	// verified when it arrived. Drivers still check a signature over the
	// body but skip the freshness window, which a replay is bound to be
	// outside of. A driver whose gateway authenticates only its sender,
	// with a short-lived bearer token the journal never keeps (Pub/Sub's),
	// relies on the row having verified and on its own API look-ups.
	Replay bool
}
