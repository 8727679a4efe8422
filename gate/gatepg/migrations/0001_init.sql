-- The gate's merchants, their API tokens (hashes only), its records of
-- merchants' payments and the postbacks it owes them. Amounts are integers
-- in the currency's minor units.

CREATE TABLE gate_merchants (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    gateways         jsonb NOT NULL,   -- array, in the order the choice page lists them
    postback_secrets jsonb NOT NULL,   -- whsec_ secrets: they sign, so they are kept as given
    disabled_at      timestamptz,
    created_at       timestamptz NOT NULL
);

CREATE TABLE gate_tokens (
    seq         bigserial PRIMARY KEY,  -- the order tokens were added
    merchant_id text NOT NULL REFERENCES gate_merchants (id),
    id          text NOT NULL,
    hash        bytea NOT NULL UNIQUE,  -- SHA-256 of the token; the token itself is never stored
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    UNIQUE (merchant_id, id)
);

CREATE TABLE gate_records (
    id                  text PRIMARY KEY,
    merchant_id         text NOT NULL,
    merchant_payment_id text NOT NULL,
    fingerprint         text NOT NULL,
    request             jsonb NOT NULL,         -- the normalized request
    amount_minor        bigint NOT NULL,        -- the request's amount, for reports
    currency            text NOT NULL,
    gateway             text NOT NULL DEFAULT '',
    payment_id          text UNIQUE,            -- the library's payment, once attached
    posted              text NOT NULL DEFAULT '', -- the last status queued for a postback
    created_at          timestamptz NOT NULL,
    UNIQUE (merchant_id, merchant_payment_id)
);

CREATE INDEX gate_records_following ON gate_records (created_at) WHERE payment_id IS NOT NULL AND posted <> 'disputed';
CREATE INDEX gate_records_merchant_created ON gate_records (merchant_id, created_at, id);

CREATE TABLE gate_postbacks (
    seq          bigserial PRIMARY KEY,  -- the order postbacks were queued
    message_id   text NOT NULL UNIQUE,
    record_id    text NOT NULL REFERENCES gate_records (id),
    merchant_id  text NOT NULL,
    url          text NOT NULL,
    type         text NOT NULL,
    status       text NOT NULL,
    body         bytea NOT NULL,
    state        text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL,
    last_status  integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    lease_owner  text NOT NULL DEFAULT '',
    lease_until  timestamptz,
    created_at   timestamptz NOT NULL
);

-- Claims look for the oldest pending postback of each record.
CREATE INDEX gate_postbacks_pending ON gate_postbacks (record_id, seq) WHERE state = 'pending';
CREATE INDEX gate_postbacks_record ON gate_postbacks (record_id, seq);

-- For BI tools (Metabase, Grafana, psql): per merchant, UTC day, gateway,
-- status and currency, how many payments the gate was asked to take and
-- their sum in minor units. Status is the last status posted to the
-- merchant, or pending. Filter by merchant_id: the view spans merchants.
CREATE VIEW gate_daily_totals AS
SELECT merchant_id,
       (created_at AT TIME ZONE 'UTC')::date AS day,
       gateway,
       CASE posted WHEN '' THEN 'pending' ELSE posted END AS status,
       currency,
       count(*) AS payments,
       sum(amount_minor)::bigint AS amount_minor
FROM gate_records
GROUP BY merchant_id, day, gateway, CASE posted WHEN '' THEN 'pending' ELSE posted END, currency;

COMMENT ON VIEW gate_daily_totals IS 'Payment gate: per merchant, UTC day, gateway, status and currency, the count and sum (minor units) of payments initiated. Status is the last one posted to the merchant, or pending.';
