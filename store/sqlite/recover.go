package sqlite

import (
	"context"
	"errors"
	"slices"

	sqlitedriver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// What the store does when the disk fails it. The two failures it can see
// leave different things known, and so are handled differently.
//
// A failed write (SQLITE_FULL, SQLITE_IOERR: a full disk, a file-size
// limit, a write error) in a statement or in COMMIT ends its transaction
// without committing it: the frames it appended to the log were never
// marked committed, the next transaction writes over them, and its callers
// are told of the error. Nothing was acknowledged, so the store keeps
// taking writes. But it must help itself: appending at the log's end may
// keep failing while the log could start over from its beginning, and only
// once every frame in the log is copied into the database file does the
// next transaction start it over. The checkpointer copies the log when a
// commit wakes it, and no commit succeeds. So after such a failure the
// writer checkpoints the log itself and, when that copied all of it, runs
// the group once more (recoverGroup). A log that hit a file-size limit, or
// a full disk (the log's start is space the file already holds), so takes
// writes again at once, and any other cause is retried by each later group
// until it is gone, without a restart.
//
// A failed fsync of the log (walSyncer) cannot be taken back. Groups that
// committed since the last good sync are in the page cache and may or may
// not be on disk; their callers are told of the error, never of success,
// and the store takes no more writes until it is reopened (writer.broken).
// Syncing again proves nothing: on Linux a failed fsync may drop the dirty
// pages it could not write, and the next fsync succeeds without them
// (https://wiki.postgresql.org/wiki/Fsync_Errors; PostgreSQL stops on a
// failed fsync for that reason). And a log with a lost frame is replayed,
// after a power loss, only up to that frame, since each frame's checksum
// chains to the one before: every later commit would be lost with it,
// however well its own sync went. Nor would a checkpoint save the frames:
// it reads them back through the same page cache, which may by then hold
// what is on disk rather than what was written, and copies them into the
// database file unchecked. So the checkpointer stops too
// (checkpointer.halt), and the log is left for SQLite to read back, frame
// by checked frame, when the store is reopened after the disk is seen to.
// The failed callers' rows may exist though they were told of an error: a
// gateway redelivers, and the ledger, idempotent by entry key, records the
// entry once.

// isIOError reports whether err is SQLite failing to read or write the
// disk, rather than a statement failing on the data.
func isIOError(err error) bool {
	var e *sqlitedriver.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff { // the primary code; extended codes say which I/O
	case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
		return true
	}
	return false
}

// recoverGroup runs the group and returns its results as commitGroup does.
// When an I/O error rolled the group back, it checkpoints the log and, if
// that copied the whole log, runs the group once more: the log then starts
// over, and the failed append may have been the only thing in the way.
func (w *writer) recoverGroup(group []*writeJob) ([]error, error) {
	results, err := w.commitGroup(group)
	if !isIOError(err) && !slices.ContainsFunc(results, isIOError) {
		return results, err
	}
	// A group that ended in an error committed nothing; nor did a job
	// alone, whose own error rolls back its transaction. Otherwise the
	// jobs without an error committed, and running them again would be
	// running them twice.
	rolledBack := err != nil || len(group) == 1
	if !w.checkpointLog() || !rolledBack {
		return results, err
	}
	return w.commitGroup(group)
}

// checkpointLog copies the log into the database file from the writer's
// own connection, and reports whether all of it is copied, so that the
// next transaction starts the log over. It is PASSIVE: it waits for no
// reader, and a reader that holds an old snapshot only leaves the log as
// it was. The writer is between transactions, and its connection syncs
// the log before copying and the database file after (see writerParams).
func (w *writer) checkpointLog() bool {
	var busy, frames, copied int
	err := w.stmts.queryRow(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
	return err == nil && busy == 0 && frames == copied
}
