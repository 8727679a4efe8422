//go:build !linux

package sqlite

import "os"

// syncData flushes f to stable storage (F_FULLFSYNC on macOS, which is
// stronger than the plain fsync SQLite uses there by default).
func syncData(f *os.File) error { return f.Sync() }
