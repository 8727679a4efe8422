-- Initial schema. Table names are written as {payments}, {entries}, ... and
-- index names as {prefix}...; Migrations renders them for the Options' schema
-- and table prefix.
--
-- Every webhook inserts a payment or updates one, and inserts an entry, a
-- sync task and a notification, so each index below is paid for on every
-- webhook; there is one only where a unique constraint or a query of the
-- Store needs it. Listings that filter on a column without an index of its
-- own (entries by gateway, notifications by a common outcome, done sync
-- tasks) read the listing's ordered index and skip rows that do not match:
-- those values are common, so few rows are skipped before the limit is met.
--
-- Keys and ids are compared bytewise (COLLATE "C"): they are tokens, not
-- words. A linguistic collation would cost a strcoll call per comparison in
-- every index descent, and could order ids unlike Go's byte order, in which
-- the group commit sorts rows to lock them in the order the database does.

CREATE TABLE {payments} (
	id             TEXT COLLATE "C" PRIMARY KEY,
	gateway        TEXT COLLATE "C" NOT NULL,
	gateway_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
	account        TEXT COLLATE "C" NOT NULL DEFAULT '',
	amount         BIGINT NOT NULL DEFAULT 0,
	currency       TEXT COLLATE "C" NOT NULL DEFAULT '',
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

-- The entry id is derived from the ledger key (gateway, kind, gateway_ref)
-- and checked against it before anything is written, so the primary key is
-- the ledger's idempotency constraint. It is deliberately the only unique
-- index: INSERT ... ON CONFLICT (id) DO NOTHING turns a concurrent duplicate
-- into "nothing inserted" only on its arbiter index, and a second unique
-- index over the same key would make some of those races fail instead.
CREATE TABLE {entries} (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	gateway            TEXT COLLATE "C" NOT NULL,
	kind               TEXT NOT NULL,
	gateway_ref        TEXT NOT NULL,
	gateway_payment_id TEXT NOT NULL DEFAULT '',
	payment_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
	account            TEXT COLLATE "C" NOT NULL,
	amount             BIGINT NOT NULL,
	currency           TEXT COLLATE "C" NOT NULL,
	reference          TEXT NOT NULL DEFAULT '',
	occurred_at        TIMESTAMPTZ NOT NULL,
	recorded_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX {prefix}entries_recorded_idx ON {entries} (recorded_at, id);
CREATE INDEX {prefix}entries_account_idx ON {entries} (account, recorded_at, id);
-- Only entries of a known payment are listed by payment id; the listing
-- repeats the predicate, as look-ups by gateway id do.
CREATE INDEX {prefix}entries_payment_idx ON {entries} (payment_id, recorded_at, id)
	WHERE payment_id <> '';

CREATE TABLE {balances} (
	account    TEXT COLLATE "C" NOT NULL,
	currency   TEXT COLLATE "C" NOT NULL,
	amount     BIGINT NOT NULL,
	entries    BIGINT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (account, currency)
);

-- The journal has no foreign key to payments: a notification outlives the
-- payment it was about, and many are about no known payment at all. It is
-- listed newest first by received_at; seq, the order rows were journaled
-- in, breaks ties. seq comes from its identity sequence, so it needs no
-- unique index to be unique.
CREATE TABLE {notifications} (
	id          TEXT COLLATE "C" PRIMARY KEY,
	seq         BIGINT GENERATED ALWAYS AS IDENTITY,
	gateway     TEXT COLLATE "C" NOT NULL,
	received_at TIMESTAMPTZ NOT NULL,
	remote_addr TEXT NOT NULL DEFAULT '',
	header      JSONB,
	body        BYTEA,
	verified    BOOLEAN NOT NULL,
	outcome     TEXT COLLATE "C" NOT NULL,
	event_id    TEXT NOT NULL DEFAULT '',
	event_type  TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX {prefix}notifications_received_idx ON {notifications} (received_at, seq);
CREATE INDEX {prefix}notifications_gateway_idx ON {notifications} (gateway, received_at, seq);
-- Nearly every notification is recorded or a duplicate, and a listing of
-- those reads the received_at index; this one holds only the outcomes an
-- operator looks for, which the listing names with the same literal
-- predicate so that its prepared statement can use it.
CREATE INDEX {prefix}notifications_outcome_idx ON {notifications} (outcome, received_at, seq)
	WHERE outcome NOT IN ('recorded', 'duplicate');

-- One outbox row per entry; seq orders it by creation.
CREATE TABLE {sync} (
	entry_id     TEXT COLLATE "C" PRIMARY KEY,
	seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	state        TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'done', 'parked')),
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TIMESTAMPTZ NOT NULL,
	last_error   TEXT NOT NULL DEFAULT '',
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  TIMESTAMPTZ
);
-- ClaimSync scans only pending rows, by due time. Listings by state read
-- pending and parked tasks, which are few, from indexes that hold only
-- them, in seq order; done tasks, nearly all of them, are read through the
-- seq index. A task leaves the pending indexes when it is settled.
CREATE INDEX {prefix}sync_due_idx ON {sync} (next_attempt, seq) WHERE state = 'pending';
CREATE INDEX {prefix}sync_pending_idx ON {sync} (seq) WHERE state = 'pending';
CREATE INDEX {prefix}sync_parked_idx ON {sync} (seq) WHERE state = 'parked';
