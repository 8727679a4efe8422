package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
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
	w.args = append(w.args, value)
	w.conds = append(w.conds, column+" = $"+strconv.Itoa(len(w.args)))
}

// addPredicate adds a condition written out in the query's text: the
// predicate of a partial index that the condition on a parameter implies.
// A prepared statement is planned without its parameters' values, so the
// planner uses a partial index only when the query states its predicate.
func (w *where) addPredicate(cond string) { w.conds = append(w.conds, cond) }

// limit adds the listing's row limit as a parameter and returns its
// placeholder; a limit that is not positive is payments.DefaultListLimit.
func (w *where) limit(n int) string {
	w.args = append(w.args, payments.EffectiveLimit(n))
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
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
