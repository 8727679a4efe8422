-- Payment versions (payments.Payment.Version) and the length and hash of an
-- unverified body the journal keeps only a prefix of
-- (payments.Notification.BodyLen, BodySHA256; 0 and '' when body is whole).
--
-- A payment stored before this migration has never been given a version:
-- it reads as 1, as if just created, and its next change makes it 2. A
-- subscriber that saw it under an older library saw no version at all, so
-- nothing it holds is above that.
ALTER TABLE {{p}}payments ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE {{p}}notifications ADD COLUMN body_len INTEGER NOT NULL DEFAULT 0;
ALTER TABLE {{p}}notifications ADD COLUMN body_sha256 TEXT NOT NULL DEFAULT '';
