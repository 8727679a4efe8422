package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxGroup caps how many writes share one transaction, bounding how long
// the first of them waits for the last.
const maxGroup = 128

// writeFunc is one write. It runs inside its own SAVEPOINT of a transaction
// it may share with other writes; returning an error rolls back its own
// changes only. ctx is the writer's, never the caller's: canceling a
// statement interrupts the connection, which would roll back the whole
// shared transaction, so a caller's cancellation is honored only before its
// write starts.
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
}

// startWriter takes the write connection from db and starts committing.
func startWriter(ctx context.Context, db *sql.DB, prefix string) (*writer, error) {
	w, err := newWriter(ctx, db, prefix)
	if err != nil {
		return nil, err
	}
	go w.loop()
	return w, nil
}

func newWriter(ctx context.Context, db *sql.DB, prefix string) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: write connection: %w", err)
	}
	w := &writer{
		db:     db,
		conn:   conn,
		stmts:  newStmtCache(prefix, conn.PrepareContext),
		jobs:   make(chan *writeJob),
		stop:   make(chan struct{}),
		exited: make(chan struct{}),
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
		w.commitGroup(group)
	}
}

// commitGroup runs every job of the group in one transaction, each in its
// own savepoint, and reports to each job once the transaction's fate is
// known: a job's success is only real once COMMIT has returned.
func (w *writer) commitGroup(group []*writeJob) {
	ctx := context.Background()
	results := make([]error, len(group))
	if _, err := w.stmts.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		w.finish(group, results, fmt.Errorf("sqlite: begin: %w", err))
		return
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
			w.finish(group, results, fatal)
			return
		}
		results[i] = jobErr
	}
	if _, err := w.stmts.exec(ctx, "COMMIT"); err != nil {
		w.rollback(ctx)
		w.finish(group, results, fmt.Errorf("sqlite: commit: %w", err))
		return
	}
	w.finish(group, results, nil)
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
		w.stmts.close()
		err = w.conn.Close()
		if cerr := w.db.Close(); err == nil {
			err = cerr
		}
	})
	return err
}
