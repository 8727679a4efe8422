package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/sqlite"
)

// bigLedger commits n charges, spread over three accounts and two gateways,
// in one batch per gateway: more than one page of entries, cheaply.
func bigLedger(t *testing.T, n int) (path string, want []payments.Entry) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "payments.db")
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	defer store.Close()
	batches := map[string]*payments.Batch{}
	for i := range n {
		gateway := []string{"fake", "other"}[i%2]
		b := batches[gateway]
		if b == nil {
			b = &payments.Batch{Gateway: gateway, Now: time.Now()}
			batches[gateway] = b
		}
		b.Entries = append(b.Entries, payments.Entry{
			Gateway: gateway, Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("ch_%05d", i),
			Account: fmt.Sprintf("acct-%d", i%3), Reference: "order:" + strconv.Itoa(i) + ":x1",
			Amount:     payments.Money{Amount: int64(100 + i), Currency: "USD"},
			OccurredAt: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC),
		})
	}
	for _, b := range batches {
		_, err := store.Commit(t.Context(), b)
		require.NoError(t, err)
	}
	for f := (payments.EntryFilter{}); ; {
		page, next, err := store.Entries(t.Context(), f)
		require.NoError(t, err)
		want = append(want, page...)
		if next == "" {
			break
		}
		f.After = next
	}
	require.Len(t, want, n)
	return path, want
}

func TestEntriesExport(t *testing.T) {
	const n = payments.DefaultListLimit + 234
	path, ledger := bigLedger(t, n)
	want := entryViews(ledger)

	t.Run("csv", func(t *testing.T) {
		r := runCmd(t, "entries", "--sqlite", path, "--progress")
		ok(t, r, nil)
		assert.Equal(t, want, parseCSV(t, r.stdout))
		assert.Contains(t, r.stderr, fmt.Sprintf("exported %d entries\n", n), "progress when asked for")
	})
	t.Run("jsonl", func(t *testing.T) {
		r := runCmd(t, "entries", "--sqlite", path, "--format", "jsonl")
		ok(t, r, nil)
		assert.Equal(t, want, parseJSONL(t, r.stdout))
		assert.Empty(t, r.stderr, "no progress on a stderr that is no terminal")
	})
	t.Run("json means jsonl", func(t *testing.T) {
		r := runCmd(t, "entries", "--sqlite", path, "--json")
		ok(t, r, nil)
		assert.Equal(t, want, parseJSONL(t, r.stdout))
	})
	t.Run("filters", func(t *testing.T) {
		var acct1Other []entryView
		for _, e := range want {
			if e.Account == "acct-1" && e.Gateway == "other" {
				acct1Other = append(acct1Other, e)
			}
		}
		require.NotEmpty(t, acct1Other)
		r := runCmd(t, "entries", "--sqlite", path, "--account", "acct-1", "--gateway", "other")
		ok(t, r, nil)
		assert.Equal(t, acct1Other, parseCSV(t, r.stdout))
	})
	t.Run("bad format", func(t *testing.T) {
		assert.Equal(t, exitUsage, runCmd(t, "entries", "--sqlite", path, "--format", "xml").code)
	})
}

func TestEntriesExportEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payments.db")
	ok(t, runCmd(t, "migrate", "--sqlite", path), nil)
	r := runCmd(t, "entries", "--sqlite", path)
	ok(t, r, nil)
	assert.Equal(t, strings.Join(csvHeader, ",")+"\n", r.stdout, "an empty ledger is a header")
}

// parseCSV reads an export back, checking its header.
func parseCSV(t *testing.T, out string) []entryView {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	require.Equal(t, csvHeader, rows[0])
	var got []entryView
	for _, row := range rows[1:] {
		col := func(name string) string {
			for i, h := range csvHeader {
				if h == name {
					return row[i]
				}
			}
			t.Fatalf("no column %s", name)
			return ""
		}
		minor, err := strconv.ParseInt(col("amount_minor"), 10, 64)
		require.NoError(t, err)
		settled, err := strconv.ParseInt(col("settled_minor"), 10, 64)
		require.NoError(t, err)
		recorded, err := time.Parse(time.RFC3339Nano, col("recorded_at"))
		require.NoError(t, err)
		occurred, err := time.Parse(time.RFC3339Nano, col("occurred_at"))
		require.NoError(t, err)
		got = append(got, entryView{
			ID: col("id"), RecordedAt: recorded, OccurredAt: occurred, Gateway: col("gateway"), Kind: col("kind"),
			GatewayRef: col("gateway_ref"), GatewayPaymentID: col("gateway_payment_id"), PaymentID: col("payment_id"),
			Account: col("account"), Reference: col("reference"), Currency: col("currency"), AmountMinor: minor,
			Amount: col("amount"), SettledCurrency: col("settled_currency"), SettledMinor: settled,
			SettlementRate: col("settlement_rate"),
		})
		// The decimal and the minor units say the same.
		m, err := payments.ParseMoney(col("amount"), col("currency"))
		require.NoError(t, err)
		assert.Equal(t, minor, m.Amount)
	}
	return got
}

func parseJSONL(t *testing.T, out string) []entryView {
	t.Helper()
	var got []entryView
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v entryView
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), sc.Text())
		got = append(got, v)
	}
	require.NoError(t, sc.Err())
	return got
}
