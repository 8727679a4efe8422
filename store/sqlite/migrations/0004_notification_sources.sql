-- Where a journal row came from (payments.Notification.Source): '' for a
-- delivery to a webhook, 'record' for a record a driver read from its
-- gateway's API (payments.Service.Record).
--
-- Every row journaled before this migration was a delivery: it reads as ''.
ALTER TABLE {{p}}notifications ADD COLUMN source TEXT NOT NULL DEFAULT '';
