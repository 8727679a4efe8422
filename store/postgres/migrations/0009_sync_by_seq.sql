-- The sync outbox is keyed by its seq, not by its entry's id (issue #20).
-- Entry ids are hashes of the ledger key (payments.EntryID), so a primary
-- key on them put every new task on a random leaf of an index as large as
-- the ledger: once that index outgrows the buffer cache, each notification
-- read a leaf from disk and, the first time that leaf changed after a
-- checkpoint, wrote all of it to the WAL (a full-page image, 8 KiB). seq is
-- issued in order, so its index only grows at its right edge.
--
-- Tasks are still found by entry id while they are open: pending or
-- parked, the ones SettleSync, RequeueSync and SettleEntry change. Open
-- tasks are few, so their index stays small and cached however large the
-- ledger grows; a task leaves it when it is done. It is unique, as the
-- primary key was for every task; a done task's entry is unique by the
-- entries' own primary key, and a task is only ever written with a new
-- entry. Statements repeat the index's predicate so that prepared
-- statements can use it.
--
-- On a large outbox this builds two indexes and locks the table meanwhile.
ALTER TABLE {sync} DROP CONSTRAINT {prefix}sync_pkey;
ALTER TABLE {sync} DROP CONSTRAINT {prefix}sync_seq_key;
ALTER TABLE {sync} ADD CONSTRAINT {prefix}sync_pkey PRIMARY KEY (seq);
CREATE UNIQUE INDEX {prefix}sync_open_idx ON {sync} (entry_id) WHERE state <> 'done';
