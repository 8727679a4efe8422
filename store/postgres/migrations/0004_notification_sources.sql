-- Where a journal row came from (payments.Notification.Source): '' for a
-- delivery to a webhook, 'record' for a record a driver read from its
-- gateway's API (payments.Service.Record). It is NULL, read as '', on the
-- deliveries, which are nearly all of the journal, as body_len and
-- body_sha256 are on whole bodies (see 0003): a NULL takes a bit in the
-- row, where '' would take a byte. Every row journaled before this
-- migration was a delivery. Added without a default, so without rewriting
-- the table.
ALTER TABLE {notifications}
	ADD COLUMN source TEXT;
