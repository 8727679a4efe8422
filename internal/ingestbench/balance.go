package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// measureBalances fills a ledger to each size and times Balance reads of an
// account that holds a share of the entries. A materialized balance is one
// row, so the time must not grow with the size of the ledger.
func measureBalances(ctx context.Context, out io.Writer, names []string, sizes string) error {
	fmt.Fprintf(out, "\nbalance read (median of 2000 reads)\n\n| store | entries | balance read |\n|---|---:|---:|\n")
	for _, name := range names {
		if name == "bare" {
			continue
		}
		for _, field := range strings.Split(sizes, ",") {
			size, err := strconv.Atoi(strings.TrimSpace(field))
			if err != nil {
				return fmt.Errorf("balance size %q: %w", field, err)
			}
			store, label, cleanup, err := openStore(ctx, name)
			if err != nil {
				return err
			}
			if store == nil {
				continue
			}
			d, err := timeBalance(ctx, store, size)
			cleanup()
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			fmt.Fprintf(out, "| %s | %d | %s |\n", label, size, d)
		}
	}
	return nil
}

func timeBalance(ctx context.Context, store payments.Store, size int) (time.Duration, error) {
	const perBatch = 1000
	now := time.Now()
	for start := 0; start < size; start += perBatch {
		b := &payments.Batch{Gateway: "fake", Now: now}
		for i := start; i < min(start+perBatch, size); i++ {
			b.Entries = append(b.Entries, payments.Entry{
				Kind: payments.KindCharge, GatewayRef: "tx_" + strconv.Itoa(i),
				Account: "acct-" + strconv.Itoa(i%100), Amount: payments.Money{Amount: 100, Currency: "USD"},
			})
		}
		if _, err := store.Commit(ctx, b); err != nil {
			return 0, err
		}
	}
	reads := make([]time.Duration, 2000)
	for i := range reads {
		began := time.Now()
		bal, err := store.Balance(ctx, "acct-7", "USD")
		reads[i] = time.Since(began)
		if err != nil {
			return 0, err
		}
		if want := int64(100 * ((size - 7 + 99) / 100)); bal.Money.Amount != want {
			return 0, fmt.Errorf("balance %d after %d entries, want %d", bal.Money.Amount, size, want)
		}
	}
	slices.Sort(reads)
	return reads[len(reads)/2].Round(100 * time.Nanosecond), nil
}
