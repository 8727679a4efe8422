-- Replays: a journal row says which row it replays (replay_of), and a row
-- a replay recorded, or found recorded, says by which replay (resolved_by);
-- a parked row with an empty resolved_by still waits for the host. Both are
-- notification ids, empty when unset. A column with a constant default is
-- added without rewriting the table.
--
-- No index: the rows listed as unresolved are read through the listing's
-- ordered index (by outcome, for the parked rows an operator looks for),
-- and resolved_by is set by the journal row's id.
ALTER TABLE {notifications}
	ADD COLUMN replay_of   TEXT NOT NULL DEFAULT '',
	ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
