package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

// TestPaymentCreatedMeanwhile has another transaction create, and commit
// while the batch waits for it, the payment a batch is about to create: the
// batch was planned from a read that no longer holds, and must be planned
// again and update that payment instead, whether it is committed alone or
// in a group.
func TestPaymentCreatedMeanwhile(t *testing.T) {
	for _, c := range []struct {
		name   string
		commit func(context.Context, *postgres.Store, *payments.Batch) (*payments.BatchResult, error)
	}{
		{"alone", func(ctx context.Context, s *postgres.Store, b *payments.Batch) (*payments.BatchResult, error) {
			return s.CommitAlone(ctx, b)
		}},
		{"group", func(ctx context.Context, s *postgres.Store, b *payments.Batch) (*payments.BatchResult, error) {
			res, errs := s.CommitTogether(ctx, b)
			return res[0], errs[0]
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := testDSN(t)
			schema := freshSchema(t, dsn)
			s := openStore(t, dsn, schema)
			t.Cleanup(func() { _ = s.Close() })
			ctx := t.Context()

			other, err := pgx.Connect(ctx, dsn)
			require.NoError(t, err)
			defer other.Close(ctx)
			tx, err := other.Begin(ctx)
			require.NoError(t, err)
			defer tx.Rollback(ctx) //nolint:errcheck // committed below
			_, err = tx.Exec(ctx, `INSERT INTO `+pgx.Identifier{schema, "payments_payments"}.Sanitize()+`
				(id, gateway, gateway_id, account, status, created_at, updated_at)
				VALUES ('pay_first', 'racepay', 'pi_1', 'acct', 'pending', $1, $1)`, clock)
			require.NoError(t, err)

			type outcome struct {
				res *payments.BatchResult
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				res, err := c.commit(ctx, s, &payments.Batch{
					Gateway: "racepay", Now: clock.Add(time.Second),
					Payments: []payments.PaymentUpdate{{GatewayID: "pi_1", Account: "acct", Status: payments.StatusSucceeded}},
					Entries: []payments.Entry{{Kind: payments.KindCharge, GatewayRef: "ch_1", GatewayPaymentID: "pi_1",
						Amount: payments.Money{Amount: 500, Currency: "USD"}}},
				})
				done <- outcome{res, err}
			}()
			waitForLockWait(t, dsn, schema)
			require.NoError(t, tx.Commit(ctx))

			var got outcome
			select {
			case got = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the batch did not finish once the other transaction had committed")
			}
			require.NoError(t, got.err)
			assert.Empty(t, got.res.Created, "the payment was created by the other transaction")
			require.Len(t, got.res.Changes, 1)
			assert.Equal(t, "pay_first", got.res.Changes[0].Payment.ID)
			assert.Equal(t, payments.StatusPending, got.res.Changes[0].From)
			require.Len(t, got.res.Entries, 1)
			assert.Equal(t, "pay_first", got.res.Entries[0].PaymentID)

			p, err := s.PaymentByGatewayID(ctx, "racepay", "pi_1")
			require.NoError(t, err)
			assert.Equal(t, "pay_first", p.ID)
			assert.Equal(t, payments.StatusSucceeded, p.Status)
		})
	}
}

// waitForLockWait returns once a statement on schema waits for a lock.
func waitForLockWait(t *testing.T, dsn, schema string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	deadline := time.Now().Add(30 * time.Second)
	for {
		var waiting int
		require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`, schema).Scan(&waiting))
		if waiting > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "no statement waited for the other transaction")
		time.Sleep(10 * time.Millisecond)
	}
}
