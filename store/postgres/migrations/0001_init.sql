-- Initial schema. Table names are written as {payments}, {entries}, ... and
-- index names as {prefix}...; Migrations renders them for the Options' schema
-- and table prefix.

CREATE TABLE {payments} (
	id             TEXT PRIMARY KEY,
	gateway        TEXT NOT NULL,
	gateway_id     TEXT NOT NULL DEFAULT '',
	account        TEXT NOT NULL DEFAULT '',
	amount         BIGINT NOT NULL DEFAULT 0,
	currency       TEXT NOT NULL DEFAULT '',
	reference      TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL DEFAULT '',
	redirect_url   TEXT NOT NULL DEFAULT '',
	capture_before TIMESTAMPTZ,
	metadata       JSONB,
	created_at     TIMESTAMPTZ NOT NULL,
	updated_at     TIMESTAMPTZ NOT NULL
);

-- A payment gets its gateway id only once the gateway has answered, so the
-- uniqueness of (gateway, gateway_id) holds only where it is set. Queries
-- repeat the index's predicate so that prepared statements can use it.
CREATE UNIQUE INDEX {prefix}payments_gateway_id_key
	ON {payments} (gateway, gateway_id) WHERE gateway_id <> '';
CREATE INDEX {prefix}payments_account_idx ON {payments} (account);

-- The entry id is derived from the ledger key (gateway, kind, gateway_ref)
-- and checked against it before anything is written, so the primary key is
-- the ledger's idempotency constraint. It is deliberately the only unique
-- index: INSERT ... ON CONFLICT (id) DO NOTHING turns a concurrent duplicate
-- into "nothing inserted" only on its arbiter index, and a second unique
-- index over the same key would make some of those races fail instead.
CREATE TABLE {entries} (
	id                 TEXT PRIMARY KEY,
	gateway            TEXT NOT NULL,
	kind               TEXT NOT NULL,
	gateway_ref        TEXT NOT NULL,
	gateway_payment_id TEXT NOT NULL DEFAULT '',
	payment_id         TEXT NOT NULL DEFAULT '',
	account            TEXT NOT NULL,
	amount             BIGINT NOT NULL,
	currency           TEXT NOT NULL,
	reference          TEXT NOT NULL DEFAULT '',
	occurred_at        TIMESTAMPTZ NOT NULL,
	recorded_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX {prefix}entries_recorded_idx ON {entries} (recorded_at, id);
CREATE INDEX {prefix}entries_account_idx ON {entries} (account, recorded_at, id);
CREATE INDEX {prefix}entries_payment_idx ON {entries} (payment_id, recorded_at, id);
CREATE INDEX {prefix}entries_gateway_idx ON {entries} (gateway, recorded_at, id);

CREATE TABLE {balances} (
	account    TEXT NOT NULL,
	currency   TEXT NOT NULL,
	amount     BIGINT NOT NULL,
	entries    BIGINT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (account, currency)
);

-- The journal has no foreign key to payments: a notification outlives the
-- payment it was about, and many are about no known payment at all. It is
-- listed newest first by received_at; seq, the order rows were journaled
-- in, breaks ties.
CREATE TABLE {notifications} (
	id          TEXT PRIMARY KEY,
	seq         BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	gateway     TEXT NOT NULL,
	received_at TIMESTAMPTZ NOT NULL,
	remote_addr TEXT NOT NULL DEFAULT '',
	header      JSONB,
	body        BYTEA,
	verified    BOOLEAN NOT NULL,
	outcome     TEXT NOT NULL,
	event_id    TEXT NOT NULL DEFAULT '',
	event_type  TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX {prefix}notifications_received_idx ON {notifications} (received_at, seq);
CREATE INDEX {prefix}notifications_gateway_idx ON {notifications} (gateway, received_at, seq);
CREATE INDEX {prefix}notifications_outcome_idx ON {notifications} (outcome, received_at, seq);

-- One outbox row per entry; seq orders it by creation.
CREATE TABLE {sync} (
	entry_id     TEXT PRIMARY KEY,
	seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'parked')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TIMESTAMPTZ NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  TIMESTAMPTZ
);
-- ClaimSync scans only pending rows, by due time.
CREATE INDEX {prefix}sync_due_idx ON {sync} (next_attempt, seq) WHERE state = 'pending';
CREATE INDEX {prefix}sync_state_idx ON {sync} (state, seq);
