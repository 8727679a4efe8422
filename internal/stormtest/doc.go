// Package stormtest holds the webhook storm: a test, not a library. It
// drives real HTTP through webhook.Mount into a Service over the memory,
// SQLite and PostgreSQL stores with 32 concurrent clients, a share of the
// notifications delivered twice — some of them at the same instant — and
// then checks that every entry is in the ledger exactly once, that every
// balance is the sum of its entries, and that the journal holds one row
// per delivery.
//
// It is small by default (a few thousand deliveries); PAYMENTS_STORM=full
// makes it 100,000, as .ci/run does:
//
//	PAYMENTS_STORM=full PAYMENTS_POSTGRES_DSN='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	    go test -count=1 -run TestStorm -v ./internal/stormtest
package stormtest
