-- Less written per notification (issue #20). Every commit writes one log
-- frame per page it changes, and each b-tree a notification inserts into
-- is at least one page more per commit:
--
-- The sync outbox moves onto the entry's row: a task is one per entry,
-- written with it, so a separate table (its row and its pending index)
-- cost two b-trees and a statement per notification for what six columns
-- of the entry hold. The queue order is the entry's seq, as before. Tasks
-- pending and parked keep a partial index each; done tasks, nearly all of
-- them, are read in queue order from the table itself. The CHECK is
-- spelled with OR, as the old table's was: an IN list of three values
-- costs a temporary b-tree per insert.
--
-- The journal's index by gateway goes: listings by gateway read the
-- received_at index and skip the rows of other gateways, as listings of
-- entries by gateway do. An operator's listing, not worth a page in
-- every commit.
ALTER TABLE {{p}}entries ADD COLUMN sync_state TEXT NOT NULL DEFAULT 'pending'
    CHECK (sync_state = 'pending' OR sync_state = 'done' OR sync_state = 'parked');
ALTER TABLE {{p}}entries ADD COLUMN sync_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{p}}entries ADD COLUMN sync_next_attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{p}}entries ADD COLUMN sync_last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE {{p}}entries ADD COLUMN sync_lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE {{p}}entries ADD COLUMN sync_lease_until INTEGER;

UPDATE {{p}}entries SET (sync_state, sync_attempts, sync_next_attempt, sync_last_error, sync_lease_owner, sync_lease_until) =
    (SELECT state, attempts, next_attempt, last_error, lease_owner, lease_until FROM {{p}}sync_tasks WHERE entry_seq = seq)
    WHERE seq IN (SELECT entry_seq FROM {{p}}sync_tasks);
-- Every entry the store recorded has a task; one written without (by hand)
-- stays out of the queue, as it was.
UPDATE {{p}}entries SET sync_state = 'done' WHERE seq NOT IN (SELECT entry_seq FROM {{p}}sync_tasks);
DROP TABLE {{p}}sync_tasks;

CREATE INDEX {{p}}entries_sync_pending ON {{p}}entries (seq) WHERE sync_state = 'pending';
CREATE INDEX {{p}}entries_sync_parked ON {{p}}entries (seq) WHERE sync_state = 'parked';

DROP INDEX {{p}}notifications_gateway;
