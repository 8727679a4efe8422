package sqlite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// A SIGKILL keeps the page cache, so a crash test that only kills keeps all
// a store wrote, synced or not. These hooks let the crash test lose what was
// not synced: the crash child's log syncer records, after each flush, how
// far the log was when the flush began (everything before that point is
// on disk), and after the kill the parent cuts the log back to it, as a
// power loss would.
//
// What the log holds is read from SQLite's files, whose layout is fixed by
// its file format (https://www.sqlite.org/walformat.html):
//   - the log (-wal) starts with a 32-byte header: the page size at byte 8
//     and the two salts at byte 16, which change each time the log starts
//     over; then frames of a 24-byte header and a page each;
//   - the wal-index (-shm) starts with two copies of a 48-byte header, the
//     second written first, whose mxFrame (byte 16) counts the committed
//     frames and whose salts (byte 32) are the log's; then, at byte 96, the
//     checkpoint's progress, with nBackfillAttempted at byte 128: the
//     frames a checkpoint began copying into the database file, after
//     syncing the log.

// The environment that turns the hooks on in a crash child.
const (
	// SyncRecordVar names the file the child's syncer records each
	// flush in.
	SyncRecordVar = "PAYMENTS_SQLITE_SYNC_RECORD"
	// NoFlushVar, set to "1", makes the child acknowledge without
	// flushing the log: the store this test must catch.
	NoFlushVar = "PAYMENTS_SQLITE_NO_FLUSH"
)

const (
	walHeaderSize   = 32
	frameHeaderSize = 24
	indexHeaderSize = 48
	// indexBytes covers both header copies and nBackfillAttempted.
	indexBytes          = 136
	backfillAttemptedAt = 128
)

// RecordLogSyncsFromEnv sets s's log syncer up as SyncRecordVar and
// NoFlushVar ask, and does nothing when they are not set.
func RecordLogSyncsFromEnv(s *Store, path string) error {
	record := os.Getenv(SyncRecordVar)
	if record == "" {
		return nil
	}
	if os.Getenv(NoFlushVar) == "1" {
		// Acknowledge at once, and record nothing: nothing was synced.
		s.writer.wal.sync = func(*os.File) error { return nil }
		return nil
	}
	index, err := os.Open(path + "-shm")
	if err != nil {
		return err
	}
	out, err := os.OpenFile(record, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		index.Close()
		return err
	}
	// The files stay open for the child's life, which ends in a kill.
	flush := s.writer.wal.sync
	s.writer.wal.sync = func(f *os.File) error {
		// Read before the flush: every frame mxFrame counts was
		// written before it, so the flush covers it.
		salt, frames, err := committedFrames(index)
		if err != nil {
			return err
		}
		if err := flush(f); err != nil {
			return err
		}
		var b [12]byte
		copy(b[:8], salt)
		binary.LittleEndian.PutUint32(b[8:], frames)
		_, err = out.WriteAt(b[:], 0) // one small write: a kill cannot tear it
		return err
	}
	return nil
}

// committedFrames reads the log's salts and committed frame count from the
// wal-index, retrying until both header copies agree, as SQLite does: a
// writer may be between the two.
func committedFrames(index *os.File) (salt []byte, frames uint32, err error) {
	buf := make([]byte, indexBytes)
	for range 1000 {
		if _, err := index.ReadAt(buf, 0); err != nil {
			return nil, 0, fmt.Errorf("read the wal-index: %w", err)
		}
		if bytes.Equal(buf[:indexHeaderSize], buf[indexHeaderSize:2*indexHeaderSize]) {
			return buf[32:40], binary.NativeEndian.Uint32(buf[16:]), nil
		}
	}
	return nil, 0, errors.New("the wal-index header never settled")
}

// LoseUnsyncedLog makes the log of the database at path what a power loss
// at the kill would have left: the frames up to the last recorded flush, or
// up to what a checkpoint began copying (it syncs the log first), whichever
// is further, and nothing after. It then removes the wal-index, which is
// memory, not disk, so that SQLite rebuilds it from the log.
//
// Only the log is cut: the database file keeps what checkpoints wrote to
// it. That is what may be lost: every frame a checkpoint copied was synced
// in the log before, and cutting the log below such a frame would make a
// database no power loss can.
func LoseUnsyncedLog(path, record string) error {
	log, err := os.OpenFile(path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return os.Remove(path + "-shm")
	}
	if err != nil {
		return err
	}
	defer log.Close()
	header := make([]byte, walHeaderSize)
	if _, err := log.ReadAt(header, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // no header yet: nothing was ever committed to it
		}
		return err
	}
	pageSize := int64(binary.BigEndian.Uint32(header[8:]))
	if pageSize == 1 {
		pageSize = 1 << 16
	}
	salt := header[16:24]

	var keep uint32
	index, err := os.ReadFile(path + "-shm")
	if err != nil {
		return err
	}
	// The checkpoint's progress is of the log the wal-index describes,
	// which may have started over without a frame written yet.
	if len(index) >= indexBytes && bytes.Equal(index[32:40], salt) {
		keep = binary.NativeEndian.Uint32(index[backfillAttemptedAt:])
	}
	if b, err := os.ReadFile(record); err == nil && len(b) == 12 && bytes.Equal(b[:8], salt) {
		keep = max(keep, binary.LittleEndian.Uint32(b[8:]))
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	size := walHeaderSize + int64(keep)*(frameHeaderSize+pageSize)
	if fi, err := log.Stat(); err != nil {
		return err
	} else if fi.Size() > size {
		if err := log.Truncate(size); err != nil {
			return err
		}
	}
	return os.Remove(path + "-shm")
}
