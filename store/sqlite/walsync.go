package sqlite

import (
	"fmt"
	"os"
)

// walSyncer flushes the write-ahead log to disk from a descriptor of its
// own. A flush is of the file, not of the descriptor, so it makes durable
// every frame the write connection appended before it began.
//
// The log is the file SQLite names path+"-wal". It exists from the first
// write in WAL mode and is never removed while the writer's connection is
// open (SQLite removes it only when the last connection closes), and
// checkpoints rewind or truncate it in place, so the descriptor opened at
// the first sync stays on the right file. Only the writer's syncer uses it.
type walSyncer struct {
	path string
	sync func(*os.File) error // syncData; a test may watch or fail it
	f    *os.File
}

// syncLog flushes the log to disk.
func (s *walSyncer) syncLog() error {
	if s.f == nil {
		f, err := os.OpenFile(s.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open the log: %w", err)
		}
		s.f = f
	}
	return s.sync(s.f)
}

func (s *walSyncer) close() error {
	if s == nil || s.f == nil {
		return nil
	}
	return s.f.Close()
}
