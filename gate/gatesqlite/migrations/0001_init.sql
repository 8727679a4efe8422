-- The gate's merchants, their API tokens (hashes only), its records of
-- merchants' payments and the postbacks it owes them. Times are Unix
-- microseconds (UTC); amounts are integers in the currency's minor units.

CREATE TABLE gate_merchants (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    gateways         TEXT NOT NULL,   -- JSON array, in the order the choice page lists them
    postback_secrets TEXT NOT NULL,   -- JSON array of whsec_ secrets: they sign, so they are kept as given
    disabled_at      INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE TABLE gate_tokens (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- the order tokens were added
    merchant_id TEXT NOT NULL REFERENCES gate_merchants (id),
    id          TEXT NOT NULL,
    hash        BLOB NOT NULL UNIQUE,               -- SHA-256 of the token; the token itself is never stored
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    UNIQUE (merchant_id, id)
) STRICT;

CREATE TABLE gate_records (
    id                  TEXT PRIMARY KEY,
    merchant_id         TEXT NOT NULL,
    merchant_payment_id TEXT NOT NULL,
    fingerprint         TEXT NOT NULL,
    request             TEXT NOT NULL,              -- the normalized request, JSON
    amount_minor        INTEGER NOT NULL,           -- the request's amount, for reports
    currency            TEXT NOT NULL,
    gateway             TEXT NOT NULL DEFAULT '',
    payment_id          TEXT,                       -- the library's payment, once attached
    posted              TEXT NOT NULL DEFAULT '',   -- the last status queued for a postback
    created_at          INTEGER NOT NULL,
    UNIQUE (merchant_id, merchant_payment_id)
) STRICT;

CREATE UNIQUE INDEX gate_records_payment ON gate_records (payment_id) WHERE payment_id IS NOT NULL;
CREATE INDEX gate_records_following ON gate_records (created_at) WHERE payment_id IS NOT NULL AND posted <> 'disputed';
CREATE INDEX gate_records_merchant_created ON gate_records (merchant_id, created_at, id);

CREATE TABLE gate_postbacks (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT, -- the order postbacks were queued
    message_id   TEXT NOT NULL UNIQUE,
    record_id    TEXT NOT NULL REFERENCES gate_records (id),
    merchant_id  TEXT NOT NULL,
    url          TEXT NOT NULL,
    type         TEXT NOT NULL,
    status       TEXT NOT NULL,
    body         BLOB NOT NULL,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_status  INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    lease_owner  TEXT NOT NULL DEFAULT '',
    lease_until  INTEGER,
    created_at   INTEGER NOT NULL
) STRICT;

-- Claims look for the oldest pending postback of each record.
CREATE INDEX gate_postbacks_pending ON gate_postbacks (record_id, seq) WHERE state = 'pending';
CREATE INDEX gate_postbacks_record ON gate_postbacks (record_id, seq);

-- Per merchant, UTC day, gateway, status and currency: what the gate was
-- asked to take, for BI tools reading the file. Status is the last status
-- posted to the merchant, or pending.
CREATE VIEW gate_daily_totals AS
SELECT merchant_id,
       date(created_at / 1000000, 'unixepoch') AS day,
       gateway,
       CASE posted WHEN '' THEN 'pending' ELSE posted END AS status,
       currency,
       COUNT(*) AS payments,
       SUM(amount_minor) AS amount_minor
FROM gate_records
GROUP BY merchant_id, day, gateway, status, currency;
