-- Less written per notification (issue #20): the journal's index by
-- gateway goes. Every notification inserted into it, and only an
-- operator's listing by gateway read it; that listing now reads the
-- received_at index and skips the rows of other gateways, as listings of
-- entries by gateway do (see 0001).
DROP INDEX {schema.}{prefix}notifications_gateway_idx;
