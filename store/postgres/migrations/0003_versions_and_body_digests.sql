-- Payment versions and digests of unverified bodies. Each column is added
-- with a constant default (NULL for the digests), so without rewriting its
-- table.
--
-- version counts a payment's changes (payments.Payment.Version): a payment
-- stored before this migration starts at 1, as a new one does. Commit
-- writes the version its plan decided, the row being locked from the read
-- the plan was made from to the commit.
ALTER TABLE {payments}
	ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Of a notification that did not verify, the journal keeps only a prefix
-- of the body, and body_len and body_sha256 (hex) of the whole body. They
-- are NULL, read as 0 and '', on the rows whose body is whole, which are
-- nearly all of them: a NULL takes a bit in the row, where 0 and '' would
-- take up to 16 bytes.
ALTER TABLE {notifications}
	ADD COLUMN body_len    BIGINT,
	ADD COLUMN body_sha256 TEXT;
