-- Postbacks (payments.PostbackStore) and the hold watcher's leases
-- (payments.HoldStore).
--
-- Postbacks live in four tables: endpoints, messages, one delivery per
-- message and endpoint that wanted it, and the attempts at each delivery.
-- A Commit with postbacks on inserts its messages and their deliveries in
-- one statement of the transaction that records the batch; a batch without
-- them writes nothing here. There are no foreign keys: the Store writes a
-- message and its deliveries in one statement, endpoints are never deleted,
-- and a key check would cost an index probe and a row lock on the endpoint
-- per delivery inserted.

-- seq is the order endpoints were first saved in, which Endpoints lists
-- them in; saving one again keeps its place. An endpoint with no events
-- wants every type.
CREATE TABLE {postback_endpoints} (
	id              TEXT COLLATE "C" PRIMARY KEY,
	seq             BIGINT GENERATED ALWAYS AS IDENTITY,
	url             TEXT NOT NULL,
	secrets         TEXT[] NOT NULL,
	events          TEXT[] NOT NULL,
	owner           TEXT NOT NULL DEFAULT '',
	disabled_at     TIMESTAMPTZ,
	disabled_reason TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMPTZ NOT NULL
);

-- The body is kept as the bytes that are signed and posted, so BYTEA, not
-- JSONB, which would reorder and respace it.
CREATE TABLE {postback_messages} (
	id         TEXT COLLATE "C" PRIMARY KEY,
	event_type TEXT NOT NULL,
	payment_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	body       BYTEA NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

-- One row per message and endpoint; seq orders them as they were queued,
-- and created_at is the message's, copied so that FailingSince reads one
-- index. held is set on the pending deliveries of an endpoint that was
-- disabled, and cleared when it is enabled again (see SaveEndpoint), so
-- that a disabled endpoint's backlog, which may be days of messages, leaves
-- the index that every claim reads. A claim checks the endpoint as well:
-- a delivery queued while its endpoint was being disabled may be unheld.
CREATE TABLE {postback_deliveries} (
	message_id   TEXT COLLATE "C" NOT NULL,
	endpoint_id  TEXT COLLATE "C" NOT NULL,
	seq          BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
	state        TEXT COLLATE "C" NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
	held         BOOLEAN NOT NULL DEFAULT false,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TIMESTAMPTZ NOT NULL,
	last_status  INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT '',
	lease_owner  TEXT NOT NULL DEFAULT '',
	lease_until  TIMESTAMPTZ,
	created_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (message_id, endpoint_id)
);
-- ClaimDeliveries reads the due deliveries of enabled endpoints, by due
-- time, from an index that holds only them; the listings by state read
-- pending and failed deliveries, which are few, from indexes that hold
-- only them, and delivered ones, nearly all, through the seq index, as the
-- sync outbox's listings do; an endpoint's deliveries are listed through
-- their own index. FailingSince probes, for each enabled endpoint, the
-- oldest of its deliveries that failed and wait for a retry, from an index
-- that holds only those. Each query writes its index's predicate out, so
-- that a prepared statement's generic plan can use it.
CREATE INDEX {prefix}postback_deliveries_due_idx ON {postback_deliveries} (next_attempt, seq)
	WHERE state = 'pending' AND NOT held;
CREATE INDEX {prefix}postback_deliveries_pending_idx ON {postback_deliveries} (seq) WHERE state = 'pending';
CREATE INDEX {prefix}postback_deliveries_failed_idx ON {postback_deliveries} (seq) WHERE state = 'failed';
CREATE INDEX {prefix}postback_deliveries_endpoint_idx ON {postback_deliveries} (endpoint_id, seq);
CREATE INDEX {prefix}postback_deliveries_failing_idx ON {postback_deliveries} (endpoint_id, created_at)
	WHERE state = 'pending' AND attempts > 0;

-- Every attempt at a delivery, whatever its outcome, in order (seq). The
-- answer is kept as the bytes received: a receiver may answer anything,
-- and TEXT refuses invalid UTF-8 and NUL. latency_ns is a
-- time.Duration.
CREATE TABLE {postback_attempts} (
	message_id  TEXT COLLATE "C" NOT NULL,
	endpoint_id TEXT COLLATE "C" NOT NULL,
	seq         BIGINT GENERATED ALWAYS AS IDENTITY,
	at          TIMESTAMPTZ NOT NULL,
	status      INTEGER NOT NULL,
	latency_ns  BIGINT NOT NULL,
	response    BYTEA NOT NULL,
	error       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (message_id, endpoint_id, seq)
);

-- The hold watcher's lease on an authorized payment, and whether it was
-- handled: a row of its own rather than columns of the payment, so that
-- the ledger's hottest table is not written by the watcher, and so that
-- this table's primary key decides, in the claim's upsert, which of two
-- watchers gets a payment.
CREATE TABLE {holds} (
	payment_id  TEXT COLLATE "C" PRIMARY KEY,
	lease_owner TEXT NOT NULL,
	lease_until TIMESTAMPTZ NOT NULL,
	handled_at  TIMESTAMPTZ
);

-- ClaimHolds reads the authorized payments that have a capture deadline,
-- by deadline: a few of the payments at any time, so that a pass reads
-- them and not the table. The claim writes this predicate out. Building it
-- reads the payments once.
CREATE INDEX {prefix}payments_hold_idx ON {payments} (capture_before, id)
	WHERE status = 'authorized' AND capture_before IS NOT NULL;
