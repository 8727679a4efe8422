package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// querier runs the store's SQL templates: queries in which "{{p}}" stands
// for the table prefix. The read pool and the write connection each have
// one, so the same helpers serve reads and the writer's transaction.
type querier interface {
	exec(ctx context.Context, template string, args ...any) (sql.Result, error)
	query(ctx context.Context, template string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, template string, args ...any) scanner
}

// stmtCache prepares each template once and reuses the statement: SQLite
// spends longer compiling this store's small statements than running them.
// The set of templates is fixed by the code, so the cache stays small.
type stmtCache struct {
	prefix  string
	prepare func(ctx context.Context, query string) (*sql.Stmt, error)
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt // by template
}

func newStmtCache(prefix string, prepare func(ctx context.Context, query string) (*sql.Stmt, error)) *stmtCache {
	return &stmtCache{prefix: prefix, prepare: prepare, stmts: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(ctx context.Context, template string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[template]; ok {
		return st, nil
	}
	if c.stmts == nil {
		return nil, errClosed
	}
	st, err := c.prepare(ctx, strings.ReplaceAll(template, "{{p}}", c.prefix))
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	c.stmts[template] = st
	return st, nil
}

func (c *stmtCache) exec(ctx context.Context, template string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, template)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *stmtCache) query(ctx context.Context, template string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, template)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) queryRow(ctx context.Context, template string, args ...any) scanner {
	st, err := c.stmt(ctx, template)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// close closes every statement; later calls fail with errClosed.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		_ = st.Close()
	}
	c.stmts = nil
}

// errRow is a row whose query could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
