-- Named cursors (payments.CursorStore): where the reconciler's listing of
-- each gateway left off. A cursor moves only from the value its saver read
-- (compare-and-set), so a reconciler that listed from an older cursor never
-- moves it back.
CREATE TABLE {cursors} (
	name       TEXT COLLATE "C" PRIMARY KEY,
	value      TEXT NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
