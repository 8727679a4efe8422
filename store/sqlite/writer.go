package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// maxGroup caps how many writes share one transaction, bounding how long
// the first of them waits for the last.
const maxGroup = 128

// writeFunc is one write. It runs in a transaction it may share with other
// writes; returning an error rolls back its own changes only. It may run
// more than once, each run from the state the previous one started from
// (see commitGroup), and a run may succeed and still not commit, so it
// builds whatever it hands out afresh on every run. ctx is the writer's,
// never the caller's: canceling a statement interrupts the connection,
// which would roll back the whole shared transaction, so a caller's
// cancellation is honored only before its write starts.
type writeFunc func(ctx context.Context, q querier) error

type writeJob struct {
	ctx  context.Context
	run  writeFunc
	done chan error
}

// writer owns the one write connection and commits writes in groups: while
// one transaction is being synced to disk, the writes that arrive queue up,
// and the next transaction takes all of them, paying for one fsync. Under
// no contention a group is a single write and costs what a plain
// transaction costs.
//
// The fsync is not the writer's: the connection runs with
// synchronous=NORMAL, so COMMIT only appends the group's frames to the WAL,
// and a syncer goroutine then fsyncs the WAL file itself before it reports
// to the group's callers. The writer starts the next group meanwhile, so
// the disk's flush and the next group's statements overlap instead of
// taking turns; one fsync covers every group committed before it began.
// Each caller still hears of its write only once it is on disk.
//
// It drives the transaction with plain BEGIN IMMEDIATE / COMMIT statements
// on a connection it holds for its lifetime, rather than database/sql's Tx,
// so that statements prepared once on that connection serve every
// transaction.
type writer struct {
	db     *sql.DB
	conn   *sql.Conn
	stmts  *stmtCache
	jobs   chan *writeJob
	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
	// careful makes groups run each job in its own savepoint; see
	// commitGroup. Only the writer's goroutine uses it.
	careful bool
	// cache sizes the connection's page cache by the file's size.
	cache writerCache
	// committed is called after each commit; the checkpointer uses it.
	committed func()
	// logFailed is called once, when the log could not be synced; it
	// halts the checkpointer (see recover.go).
	logFailed func()
	// commits counts COMMITs; only the writer's goroutine uses it. A
	// group's outcome depends on the commits made up to its own.
	commits uint64
	// wal syncs the log; toSync carries committed groups to it.
	wal       *walSyncer
	toSync    chan *committedGroup
	syncerEnd chan struct{}
	// syncing counts the groups handed to the syncer that it has not
	// reported yet; syncIdle wakes the writer when it drops to zero.
	syncing  atomic.Int64
	syncIdle chan struct{}
	// broken is set once the log could not be synced: from then on
	// nothing the writer commits can be promised durable (recover.go
	// says why a later sync cannot make it so).
	broken atomic.Pointer[error]
}

// committedGroup is a group whose transaction has ended, waiting for the
// fsync that makes its outcome durable before its callers hear of it.
type committedGroup struct {
	jobs    []*writeJob
	results []error
	// commits is the writer's commit count once the group ended: every
	// job's outcome rests on those commits, so they must be synced first.
	commits uint64
}

// syncQueue bounds how many committed groups may wait for an fsync before
// the writer waits too.
const syncQueue = 64

// startWriter takes the write connection from db and starts committing;
// it calls committed after each commit, syncs the log at walPath before
// acknowledging, and calls logFailed if that sync ever fails.
func startWriter(ctx context.Context, db *sql.DB, prefix, walPath string, committed, logFailed func()) (*writer, error) {
	w, err := newWriter(ctx, db, prefix)
	if err != nil {
		return nil, err
	}
	w.committed, w.logFailed = committed, logFailed
	if err := w.cache.check(ctx, w.stmts); err != nil {
		_ = w.conn.Close()
		return nil, err
	}
	w.wal = &walSyncer{path: walPath, sync: syncData}
	w.toSync = make(chan *committedGroup, syncQueue)
	w.syncIdle = make(chan struct{}, 1)
	w.syncerEnd = make(chan struct{})
	go w.syncLoop()
	go w.loop()
	return w, nil
}

func newWriter(ctx context.Context, db *sql.DB, prefix string) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: write connection: %w", err)
	}
	w := &writer{
		db:        db,
		conn:      conn,
		stmts:     newStmtCache(prefix, conn.PrepareContext),
		jobs:      make(chan *writeJob),
		stop:      make(chan struct{}),
		exited:    make(chan struct{}),
		committed: func() {},
		logFailed: func() {},
	}
	return w, nil
}

// do runs fn in a write transaction and returns once that transaction has
// committed (nil) or fn's changes have been rolled back (an error). Once the
// writer has taken the job do waits for its outcome even if ctx ends, so
// that an error always means nothing was written.
func (w *writer) do(ctx context.Context, fn writeFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &writeJob{ctx: ctx, run: fn, done: make(chan error, 1)}
	select {
	case w.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.stop:
		return errClosed
	}
	return <-j.done
}

func (w *writer) loop() {
	defer close(w.exited)
	if w.toSync != nil {
		defer close(w.toSync)
	}
	for {
		var first *writeJob
		select {
		case first = <-w.jobs:
		case <-w.stop:
			return
		}
		group := []*writeJob{first}
	gather:
		for len(group) < maxGroup {
			select {
			case j := <-w.jobs:
				group = append(group, j)
			default:
				break gather
			}
		}
		if broken := w.broken.Load(); broken != nil {
			w.finish(group, make([]error, len(group)), *broken)
			continue
		}
		var results []error
		var err error
		if w.toSync != nil && !w.careful && w.syncing.Load() > 0 {
			group, results, err = w.growWhileSyncing(group)
		} else {
			results, err = w.recoverGroup(group)
		}
		if err != nil {
			// Nothing of the group committed; what its jobs saw of
			// earlier groups does not change that.
			w.finish(group, results, err)
			continue
		}
		w.syncing.Add(1)
		w.toSync <- &committedGroup{jobs: group, results: results, commits: w.commits}
	}
}

// syncLoop reports committed groups to their callers once the log holding
// them is on disk. It takes every group waiting and syncs once for all of
// them: an fsync that starts after a group's COMMIT covers that group.
func (w *writer) syncLoop() {
	defer close(w.syncerEnd)
	var synced uint64 // commits known to be on disk
	for g := range w.toSync {
		groups := []*committedGroup{g}
	gather:
		for {
			select {
			case g, ok := <-w.toSync:
				if !ok {
					break gather
				}
				groups = append(groups, g)
			default:
				break gather
			}
		}
		var err error
		if broken := w.broken.Load(); broken != nil {
			// A later flush may succeed without the failed one's frames
			// having reached the disk, and these groups rest on them.
			err = *broken
		} else if upTo := groups[len(groups)-1].commits; upTo > synced {
			if err = w.wal.syncLog(); err != nil {
				// The groups did commit, and may or may not be on disk:
				// the store cannot promise anything any more.
				err = fmt.Errorf("sqlite: syncing the write-ahead log failed, so writes since the last sync may be lost and the store takes no more writes; reopen it: %w", err)
				if w.broken.CompareAndSwap(nil, &err) {
					w.logFailed()
				}
			} else {
				synced = upTo
			}
		}
		for _, g := range groups {
			w.finish(g.jobs, g.results, err)
		}
		if w.syncing.Add(-int64(len(groups))) == 0 {
			select {
			case w.syncIdle <- struct{}{}:
			default:
			}
		}
	}
}

// growWhileSyncing runs a group while the syncer is flushing the log for
// earlier groups, and keeps its transaction open, taking in the writes that
// arrive, until that flush is done (or the group is full): its writes could
// not be acknowledged before the next flush anyway, and that flush starts
// as soon as the group commits. The group's statements still overlap the
// flush, and one commit, whose cost is a log frame per page it changed,
// serves every write that arrived during the flush instead of a group
// each. It returns the group, grown, with its results as commitGroup
// does.
//
// Its jobs run without savepoints. When one fails, or the commit does, the
// transaction is rolled back and the grown group runs again the way
// recoverGroup runs any group.
func (w *writer) growWhileSyncing(group []*writeJob) ([]*writeJob, []error, error) {
	ctx := context.Background()
	if _, err := w.stmts.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		results, err := w.recoverGroup(group)
		return group, results, err
	}
	results := make([]error, 0, maxGroup)
	run := func(j *writeJob) bool {
		if err := j.ctx.Err(); err != nil {
			results = append(results, err)
			return true
		}
		if err := j.run(ctx, w.stmts); err != nil {
			return false
		}
		results = append(results, nil)
		return true
	}
	redo := func() ([]*writeJob, []error, error) {
		w.rollback(ctx)
		// Run again with a savepoint per job, as commitGroup would after
		// a failure; a job alone needs none.
		w.careful = len(group) > 1
		results, err := w.recoverGroup(group)
		return group, results, err
	}
	for _, j := range group {
		if !run(j) {
			return redo()
		}
	}
	for len(group) < maxGroup && w.syncing.Load() > 0 {
		select {
		case j := <-w.jobs:
			group = append(group, j)
			if !run(j) {
				return redo()
			}
		case <-w.syncIdle:
		case <-w.stop:
			return group, results, w.commit(ctx)
		}
	}
	if err := w.commit(ctx); err != nil {
		if isIOError(err) && w.checkpointLog() {
			results, err := w.commitGroup(group)
			return group, results, err
		}
		return group, make([]error, len(group)), err
	}
	return group, results, nil
}

// commitGroup runs every job of the group in one transaction and returns
// each job's result, and the group's error when the transaction did not
// commit, which overrides every success: a job's success is only real once
// COMMIT has returned (and, for its caller, once the log is synced).
//
// A failing job must roll back alone. A savepoint per job would give it
// that, at the price of two more statements and a copy of every page the
// job touches first, paid by every job for failures that are rare. So a
// group first runs without savepoints and commits when no job failed; when
// one fails, the transaction is rolled back and the group runs again with a
// savepoint per job. After that, groups keep their savepoints until one has
// no failure, so that a stream of failing writes costs what savepoints
// cost, never each group twice. A group of one job needs no savepoint: its
// transaction rolls back exactly its job.
func (w *writer) commitGroup(group []*writeJob) (results []error, err error) {
	if len(group) == 1 || !w.careful {
		results, err := w.runBare(group)
		if !errors.Is(err, errJobFailed) {
			return results, err
		}
		w.careful = true
	}
	results, err = w.runWithSavepoints(group)
	if err == nil {
		w.careful = slices.ContainsFunc(results, func(err error) bool { return err != nil })
	}
	return results, err
}

// errJobFailed reports that a job of a group run without savepoints failed
// and the whole transaction was rolled back, so that the group must run
// again with savepoints.
var errJobFailed = errors.New("sqlite: a job of the group failed")

// runBare runs the group's jobs one after the other in one transaction.
// When a job fails, the transaction is rolled back: the error is the job's
// own when it was alone, else errJobFailed.
func (w *writer) runBare(group []*writeJob) ([]error, error) {
	ctx := context.Background()
	results := make([]error, len(group))
	if _, err := w.stmts.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return results, fmt.Errorf("sqlite: begin: %w", err)
	}
	for i, j := range group {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if err := j.run(ctx, w.stmts); err != nil {
			w.rollback(ctx)
			if len(group) > 1 {
				return nil, errJobFailed
			}
			results[i] = err
			return results, nil
		}
	}
	return results, w.commit(ctx)
}

// runWithSavepoints runs each job of the group in its own savepoint of one
// transaction, so that a failing job rolls back alone.
func (w *writer) runWithSavepoints(group []*writeJob) ([]error, error) {
	ctx := context.Background()
	results := make([]error, len(group))
	if _, err := w.stmts.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return results, fmt.Errorf("sqlite: begin: %w", err)
	}
	for i, j := range group {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		jobErr, fatal := w.runInSavepoint(ctx, j.run)
		if fatal != nil {
			// SQLite rolled the whole transaction back (an I/O error, a
			// full disk): every job of the group has failed.
			w.rollback(ctx)
			return results, fatal
		}
		results[i] = jobErr
	}
	return results, w.commit(ctx)
}

// commit ends the group's transaction.
func (w *writer) commit(ctx context.Context) error {
	if _, err := w.stmts.exec(ctx, "COMMIT"); err != nil {
		w.rollback(ctx)
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	w.commits++
	w.committed()
	w.cache.committed(ctx, w.stmts)
	return nil
}

// runInSavepoint runs fn between SAVEPOINT and RELEASE. fn's own failure is
// jobErr; fatal is a failure that leaves the transaction unusable.
func (w *writer) runInSavepoint(ctx context.Context, fn writeFunc) (jobErr, fatal error) {
	if _, err := w.stmts.exec(ctx, "SAVEPOINT job"); err != nil {
		return nil, fmt.Errorf("sqlite: savepoint: %w", err)
	}
	if jobErr = fn(ctx, w.stmts); jobErr != nil {
		if _, err := w.stmts.exec(ctx, "ROLLBACK TO job"); err != nil {
			return nil, fmt.Errorf("sqlite: rollback after %w: %w", jobErr, err)
		}
	}
	if _, err := w.stmts.exec(ctx, "RELEASE job"); err != nil {
		return nil, fmt.Errorf("sqlite: release savepoint: %w", err)
	}
	return jobErr, nil
}

// rollback ends a failed transaction. Its error is of no use: SQLite may
// have rolled back already, and the group's error is reported instead.
func (w *writer) rollback(ctx context.Context) {
	_, _ = w.conn.ExecContext(ctx, "ROLLBACK")
}

// finish reports each job's result; groupErr, when set, overrides every
// result that was a success, because the transaction did not commit.
func (w *writer) finish(group []*writeJob, results []error, groupErr error) {
	for i, j := range group {
		err := results[i]
		if err == nil {
			err = groupErr
		}
		j.done <- err
	}
}

func (w *writer) stopped() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// close stops taking new jobs, lets the group in progress commit, and
// closes the connection.
func (w *writer) close() error {
	var err error
	w.once.Do(func() {
		close(w.stop)
		<-w.exited
		if w.syncerEnd != nil {
			<-w.syncerEnd
		}
		err = w.wal.close()
		w.stmts.close()
		err = errors.Join(err, w.conn.Close(), w.db.Close())
	})
	return err
}
