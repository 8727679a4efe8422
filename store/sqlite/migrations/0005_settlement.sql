-- Conversions into a settlement currency (payments.Settlement).
--
-- An entry keeps its conversion (payments.Entry.Settlement) in the
-- settled_* columns, all NULL when it has none, as every entry recorded
-- without a settlement currency, and every entry recorded before this
-- migration, has. A conversion that waits for a rate
-- (payments.Conversion.Pending) has only settled_currency; a converted one
-- has settled_amount, settled_currency and settled_rate, and settled_source
-- and settled_at unless they are empty. Every entry recorded before this
-- migration reads back without a conversion.
ALTER TABLE {{p}}entries ADD COLUMN settled_amount INTEGER;
ALTER TABLE {{p}}entries ADD COLUMN settled_currency TEXT;
ALTER TABLE {{p}}entries ADD COLUMN settled_rate TEXT;
ALTER TABLE {{p}}entries ADD COLUMN settled_source TEXT;
ALTER TABLE {{p}}entries ADD COLUMN settled_at INTEGER;

-- The entries that wait for a rate (payments.EntryFilter.Unsettled), in
-- the listing's order: a few at any time, so that listing them reads them
-- and not the ledger. The listing spells out this predicate.
CREATE INDEX {{p}}entries_unsettled ON {{p}}entries (recorded_at, id)
    WHERE settled_currency IS NOT NULL AND settled_rate IS NULL;

-- A balance's sum of its entries' conversions (payments.Balance.Settled),
-- in settled_currency, NULL until an entry of it is converted; one
-- settlement currency per balance. A balance stored before this migration
-- has none.
ALTER TABLE {{p}}balances ADD COLUMN settled_amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{p}}balances ADD COLUMN settled_currency TEXT;
