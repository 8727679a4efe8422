-- Conversions into a settlement currency (payments.Settlement).
--
-- An entry keeps its conversion (payments.Entry.Settlement) in the
-- settled_* columns. They are NULL when it has none, as on every entry
-- recorded without a settlement currency, and on every entry recorded
-- before this migration, which reads back without one: a NULL takes a bit
-- in the row (see 0003 and 0004), and the ledger is the largest table. A
-- conversion that waits for a rate (payments.Conversion.Pending) has only
-- settled_currency; a converted one has settled_amount, settled_currency
-- and settled_rate, and settled_source and settled_at unless they are
-- empty. Added without defaults, so without rewriting the table.
ALTER TABLE {entries}
	ADD COLUMN settled_amount   BIGINT,
	ADD COLUMN settled_currency TEXT COLLATE "C",
	ADD COLUMN settled_rate     TEXT,
	ADD COLUMN settled_source   TEXT,
	ADD COLUMN settled_at       TIMESTAMPTZ;

-- The entries that wait for a rate (payments.EntryFilter.Unsettled), in
-- the listing's order: a few at any time, so that listing them, as the
-- Service does to convert them, reads them and not the ledger. The listing
-- writes this predicate out, as the other partial indexes' listings do.
-- Building it reads the ledger once; no entry recorded before qualifies.
CREATE INDEX {prefix}entries_unsettled_idx ON {entries} (recorded_at, id)
	WHERE settled_currency IS NOT NULL AND settled_rate IS NULL;

-- A balance's sum of its entries' conversions (payments.Balance.Settled),
-- in settled_currency, NULL until one of its entries is converted. A
-- balance has one settlement currency: the upsert that adds to a balance
-- writes '' into settled_currency when a change would settle it in a
-- second one, which this constraint refuses, so that the statement fails
-- (and a group commit with it) however the rows were planned. A balance
-- stored before this migration is settled in nothing. Both columns are
-- added without rewriting the table (a constant default, and none).
ALTER TABLE {balances}
	ADD COLUMN settled_amount   BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN settled_currency TEXT COLLATE "C"
		CONSTRAINT {prefix}balances_one_settlement_currency CHECK (settled_currency <> '');
