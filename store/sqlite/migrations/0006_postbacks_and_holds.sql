-- Outbound postbacks (payments.PostbackStore) and the hold watcher's leases
-- (payments.HoldStore).
--
-- Endpoints are listed in the order they were first saved (seq); saving one
-- again replaces it in place. Secrets and events are JSON arrays of strings;
-- events is '[]' for an endpoint that receives every type. An endpoint is
-- enabled while disabled_at is NULL. Endpoints are never deleted.
CREATE TABLE {{p}}postback_endpoints (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    url             TEXT    NOT NULL,
    secrets         TEXT    NOT NULL,
    events          TEXT    NOT NULL DEFAULT '[]',
    owner           TEXT    NOT NULL DEFAULT '',
    disabled_at     INTEGER,
    disabled_reason TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
) STRICT;

-- One row per message, written in the transaction that recorded what it
-- tells, and only when at least one endpoint wanted it: a message no
-- delivery names could never be read.
CREATE TABLE {{p}}postback_messages (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    type       TEXT    NOT NULL,
    payment_id TEXT    NOT NULL DEFAULT '',
    body       BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- One message to one endpoint; seq is queue order, oldest message first. A
-- live lease is lease_until in the future. The CHECK is spelled with OR, as
-- sync_tasks' is: an IN list of three values costs a temporary b-tree per
-- insert.
CREATE TABLE {{p}}postback_deliveries (
    seq          INTEGER PRIMARY KEY,
    message_seq  INTEGER NOT NULL REFERENCES {{p}}postback_messages (seq),
    endpoint_id  TEXT    NOT NULL REFERENCES {{p}}postback_endpoints (id),
    state        TEXT    NOT NULL CHECK (state = 'pending' OR state = 'delivered' OR state = 'failed'),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  INTEGER
) STRICT;

-- A delivery is named by (message id, endpoint id) in settlements,
-- redeliveries and attempt listings.
CREATE UNIQUE INDEX {{p}}postback_deliveries_key ON {{p}}postback_deliveries (message_seq, endpoint_id);
-- Listings by endpoint, in queue order.
CREATE INDEX {{p}}postback_deliveries_endpoint ON {{p}}postback_deliveries (endpoint_id, seq);
-- Claims and FailingSince read only pending deliveries, in queue order;
-- next_attempt in the index lets a claim pass over those not yet due
-- without reading their rows. Failed deliveries are the ones an operator
-- lists; delivered ones are most of the table and have no index of their
-- own. The queries spell these predicates out.
CREATE INDEX {{p}}postback_deliveries_pending ON {{p}}postback_deliveries (seq, next_attempt) WHERE state = 'pending';
CREATE INDEX {{p}}postback_deliveries_failed ON {{p}}postback_deliveries (seq) WHERE state = 'failed';

-- Every try at a delivery, whatever its outcome. latency is in
-- nanoseconds; response is the start of the answer's body.
CREATE TABLE {{p}}postback_attempts (
    seq          INTEGER PRIMARY KEY,
    delivery_seq INTEGER NOT NULL REFERENCES {{p}}postback_deliveries (seq),
    at           INTEGER NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0,
    latency      INTEGER NOT NULL DEFAULT 0,
    response     TEXT    NOT NULL DEFAULT '',
    error        TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX {{p}}postback_attempts_delivery ON {{p}}postback_attempts (delivery_seq, seq);

-- The hold watcher's lease on an authorized payment whose capture deadline
-- nears (payments.HoldClaim): hold_until is when the lease of hold_owner
-- ends, NULL when none was taken; hold_handled_at is set once a watcher has
-- acted, after which no watcher claims the payment again. Every payment
-- stored before this migration is unleased and unhandled.
ALTER TABLE {{p}}payments ADD COLUMN hold_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE {{p}}payments ADD COLUMN hold_until INTEGER;
ALTER TABLE {{p}}payments ADD COLUMN hold_handled_at INTEGER;

-- The payments a claim may take, earliest deadline first: few at any time,
-- so that a claim reads them and not every payment. ClaimHolds spells out
-- this predicate.
CREATE INDEX {{p}}payments_holds ON {{p}}payments (capture_before, id)
    WHERE status = 'authorized' AND capture_before IS NOT NULL AND hold_handled_at IS NULL;
