package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments/internal/cursor"
)

// querier is what both a pool and a transaction offer.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// where builds the WHERE clause of a listing from the filter fields that
// are set; an empty field matches everything.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(column, value string) {
	if value == "" {
		return
	}
	w.addArgs(column+" = %s", value)
}

// addArgs adds a condition on parameters: cond holds a %s where each of
// args goes.
func (w *where) addArgs(cond string, args ...any) {
	placeholders := make([]any, len(args))
	for i, a := range args {
		w.args = append(w.args, a)
		placeholders[i] = "$" + strconv.Itoa(len(w.args))
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, placeholders...))
}

// addPredicate adds a condition written out in the query's text: the
// predicate of a partial index that the condition on a parameter implies.
// A prepared statement is planned without its parameters' values, so the
// planner uses a partial index only when the query states its predicate.
func (w *where) addPredicate(cond string) { w.conds = append(w.conds, cond) }

// listing is the query of one page of a listing. It reads one row more
// than the page holds, which tells whether another page follows.
type listing struct {
	query string
	args  []any
	limit int // the page's
}

// listing returns the page of selected rows, ordered by orderBy, that a
// filter's limit asks for: payments.DefaultListLimit when it is not
// positive.
func (w *where) listing(selected, orderBy string, limit int) listing {
	limit = cursor.Limit(limit)
	w.args = append(w.args, limit+1)
	query := selected
	if len(w.conds) > 0 {
		query += " WHERE " + strings.Join(w.conds, " AND ")
	}
	query += " ORDER BY " + orderBy + " LIMIT $" + strconv.Itoa(len(w.args))
	return listing{query: query, args: w.args, limit: limit}
}

// page cuts what a listing read to its page, and returns the cursor of the
// next page, made from the page's last row; "" when no row follows.
func page[T any](rows []T, limit int, next func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, next(rows[limit-1])
}

// collect scans every row with scan; no rows is a nil slice.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// list runs the page query a filter made (or the error making it failed
// with), scans its rows and cuts the extra one off into the next page's
// cursor, made from the page's last row by next.
func list[T any](ctx context.Context, s *Store, what string, l listing, err error,
	scan func(pgx.Row) (T, error), next func(T) string) ([]T, string, error) {
	if err := s.usable(); err != nil {
		return nil, "", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("postgres: list %s: %w", what, err)
	}
	rows, err := s.pool.Query(ctx, s.sql(l.query), l.args...)
	if err != nil {
		return nil, "", fail("list "+what, err)
	}
	all, err := collect(rows, scan)
	if err != nil {
		return nil, "", fail("list "+what, err)
	}
	all, cur := page(all, l.limit, next)
	return all, cur, nil
}
