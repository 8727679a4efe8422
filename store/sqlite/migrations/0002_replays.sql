-- Replays and their resolution (payments.Notification ReplayOf and
-- ResolvedBy): a row a replay recorded, or found recorded, names that
-- replay's row in resolved_by; a parked row with resolved_by = '' still
-- waits for the host.
ALTER TABLE {{p}}notifications ADD COLUMN replay_of TEXT NOT NULL DEFAULT '';
ALTER TABLE {{p}}notifications ADD COLUMN resolved_by TEXT NOT NULL DEFAULT '';
