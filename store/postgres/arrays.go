package postgres

import "strings"

// arrayRows is a FROM item, named alias, over parallel arrays: one row per
// element, in array order, with the element's place in column n (from 1).
// Each column is given as "array name", for example "$1::text[] id"; every
// array must have as many elements as the first.
//
// The arrays are unnested in a select list, where they advance in lockstep
// a value per call, not by unnest(a, b, ...) in FROM. In FROM, each array
// is a function of its own, materialized in a tuplestore of its own, and
// each tuplestore starts with a 16 KB array that is allocated outside the
// statement's memory blocks: a statement over fifteen columns took some
// 250 KB of fresh heap from malloc and gave it back when it ended, so the
// server process grew and trimmed its heap around nearly every statement,
// each trim a TLB flush across CPUs. That churn was about half of the
// database server's CPU per notification (see internal/ingestbench).
func arrayRows(alias string, columns ...string) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	first := ""
	for i, c := range columns {
		array, name, ok := strings.Cut(strings.TrimSpace(c), " ")
		if !ok {
			panic("postgres: arrayRows column without a name: " + c)
		}
		if i == 0 {
			first = array
		}
		b.WriteString("unnest(" + array + ") AS " + strings.TrimSpace(name) + ", ")
	}
	b.WriteString("generate_series(1, cardinality(" + first + ")) AS n) AS " + alias)
	return b.String()
}
