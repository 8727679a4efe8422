-- The ledger, its payments, balances, the notification journal and the sync
-- outbox. {{p}} is the table prefix (Options.TablePrefix).
--
-- Money is INTEGER minor units beside a TEXT currency code; times are
-- INTEGER unix microseconds, UTC, NULL where a time is optional. Tables are
-- STRICT, so an integer overflow that SQLite would turn into a REAL is an
-- error instead of an inexact amount.

-- Rows are keyed by id; ids the library issues begin with their creation
-- time (payments.NewPaymentID), so new rows land at the end of the tree.
CREATE TABLE {{p}}payments (
    id             TEXT    NOT NULL PRIMARY KEY,
    gateway        TEXT    NOT NULL,
    gateway_id     TEXT    NOT NULL DEFAULT '', -- '' until the gateway has answered
    account        TEXT    NOT NULL DEFAULT '',
    amount         INTEGER NOT NULL DEFAULT 0,
    currency       TEXT    NOT NULL DEFAULT '',
    reference      TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL,
    redirect_url   TEXT    NOT NULL DEFAULT '',
    capture_before INTEGER,
    metadata       TEXT,                        -- JSON object
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- A gateway's payment id names one payment; payments not yet known to the
-- gateway have none.
CREATE UNIQUE INDEX {{p}}payments_gateway_id ON {{p}}payments (gateway, gateway_id)
    WHERE gateway_id <> '';

-- id is derived from (gateway, kind, gateway_ref) (payments.EntryID, which
-- Batch.Validate checks), so its uniqueness is the ledger key's: recording
-- an entry is idempotent by this constraint. seq is the order of insertion,
-- which the outbox follows.
CREATE TABLE {{p}}entries (
    seq                INTEGER PRIMARY KEY,
    id                 TEXT    NOT NULL UNIQUE,
    gateway            TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    gateway_ref        TEXT    NOT NULL,
    gateway_payment_id TEXT    NOT NULL DEFAULT '',
    payment_id         TEXT    NOT NULL DEFAULT '',
    account            TEXT    NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount <> 0),
    currency           TEXT    NOT NULL,
    reference          TEXT    NOT NULL DEFAULT '',
    occurred_at        INTEGER NOT NULL,
    recorded_at        INTEGER NOT NULL
) STRICT;

CREATE INDEX {{p}}entries_recorded ON {{p}}entries (recorded_at, id);
CREATE INDEX {{p}}entries_account ON {{p}}entries (account, recorded_at, id);
CREATE INDEX {{p}}entries_payment ON {{p}}entries (payment_id, recorded_at, id)
    WHERE payment_id <> '';

-- The sum of an account's entries per currency, updated in the transaction
-- that records each entry.
CREATE TABLE {{p}}balances (
    account    TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    amount     INTEGER NOT NULL,
    entries    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account, currency)
) STRICT, WITHOUT ROWID;

-- The journal of inbound notifications as received. No foreign key: a
-- notification outlives the payments it names, and may name none.
CREATE TABLE {{p}}notifications (
    seq         INTEGER PRIMARY KEY, -- journal order, newest first among equal received_at
    id          TEXT    NOT NULL UNIQUE,
    gateway     TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    remote_addr TEXT    NOT NULL DEFAULT '',
    header      TEXT,                -- JSON object: only the headers the driver needs
    body        BLOB,                -- the raw body, byte for byte
    verified    INTEGER NOT NULL CHECK (verified IN (0, 1)),
    outcome     TEXT    NOT NULL,
    event_id    TEXT    NOT NULL DEFAULT '',
    event_type  TEXT    NOT NULL DEFAULT '',
    detail      TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Listings are newest first by received_at: a slow request may be journaled
-- after requests that arrived later. Most notifications are recorded or
-- duplicates, and a listing of those reads the received_at index; the index
-- by outcome holds only the few an operator looks for.
CREATE INDEX {{p}}notifications_received ON {{p}}notifications (received_at, seq);
CREATE INDEX {{p}}notifications_gateway ON {{p}}notifications (gateway, received_at, seq);
CREATE INDEX {{p}}notifications_outcome ON {{p}}notifications (outcome, received_at, seq)
    WHERE outcome NOT IN ('recorded', 'duplicate');

-- The outbox: one task per entry, keyed by the entry's seq (queue order),
-- until the host's BalanceService has applied it. A live lease is
-- lease_until in the future. Done tasks leave both indexes. The CHECK is
-- spelled with OR: SQLite evaluates an IN list of three or more values by
-- building a temporary b-tree on every insert.
CREATE TABLE {{p}}sync_tasks (
    entry_seq    INTEGER PRIMARY KEY REFERENCES {{p}}entries (seq),
    state        TEXT    NOT NULL CHECK (state = 'pending' OR state = 'done' OR state = 'parked'),
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_error   TEXT    NOT NULL DEFAULT '',
    lease_owner  TEXT    NOT NULL DEFAULT '',
    lease_until  INTEGER
) STRICT;

CREATE INDEX {{p}}sync_tasks_pending ON {{p}}sync_tasks (entry_seq) WHERE state = 'pending';
CREATE INDEX {{p}}sync_tasks_parked ON {{p}}sync_tasks (entry_seq) WHERE state = 'parked';
