package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

// TestResultIsAsStored commits with nanosecond clocks and checks that what
// Commit returns equals what later reads return, PostgreSQL keeping only
// microseconds.
func TestResultIsAsStored(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Date(2025, time.March, 14, 9, 26, 53, 123_456_789, time.FixedZone("CET", 3600))
	res, err := s.Commit(ctx, &payments.Batch{
		Gateway: "nanopay", Now: now,
		Payments: []payments.PaymentUpdate{{
			GatewayID: "pi_1", Account: "acct", Status: payments.StatusAuthorized,
			CaptureBefore: now.Add(time.Hour + time.Nanosecond),
		}},
		Entries: []payments.Entry{{
			Kind: payments.KindCharge, GatewayRef: "ch_1", GatewayPaymentID: "pi_1",
			Amount: payments.Money{Amount: 100, Currency: "USD"}, OccurredAt: now.Add(-time.Nanosecond),
		}},
	})
	require.NoError(t, err)
	require.Len(t, res.Created, 1)
	require.Len(t, res.Entries, 1)

	stored, err := s.PaymentByGatewayID(ctx, "nanopay", "pi_1")
	require.NoError(t, err)
	assert.Equal(t, res.Created[0], *stored)
	entries, _, err := s.Entries(ctx, payments.EntryFilter{})
	require.NoError(t, err)
	assert.Equal(t, res.Entries, entries)
}

// TestVersionsDigestsAndSourcesOnEachPath commits, alone and in a group, a
// batch that changes two stored payments, named by gateway id and by library
// id, and journals a notification with the length and hash of its whole
// body, first a delivery, then a record: each payment is written with the
// version its plan gave it, and the journal row reads back as it was given.
func TestVersionsDigestsAndSourcesOnEachPath(t *testing.T) {
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
			s := newStore(t)
			ctx := t.Context()
			for _, id := range []string{"1", "2"} {
				require.NoError(t, s.CreatePayment(ctx, &payments.Payment{
					ID: "pay_" + id, Gateway: "verpay", GatewayID: "pi_" + id, Account: "acct",
					Status: payments.StatusPending, Version: 1, CreatedAt: clock, UpdatedAt: clock,
				}))
			}
			sources := []string{"", payments.SourceRecord}
			for i, status := range []payments.Status{payments.StatusAuthorized, payments.StatusSucceeded} {
				ntf := fmt.Sprintf("ntf_%d", i)
				res, err := c.commit(ctx, s, &payments.Batch{
					Gateway: "verpay", Now: clock.Add(time.Duration(i+1) * time.Second),
					Payments: []payments.PaymentUpdate{{GatewayID: "pi_1", Status: status}, {PaymentID: "pay_2", Status: status}},
					Notification: &payments.Notification{ID: ntf, Gateway: "verpay", ReceivedAt: clock,
						Body: []byte("{"), BodyLen: 1 << 20, BodySHA256: strings.Repeat("ab", 32), Source: sources[i]},
				})
				require.NoError(t, err)
				require.Len(t, res.Changes, 2)
				for _, change := range res.Changes {
					assert.EqualValues(t, i+2, change.Payment.Version, "%s after change %d", change.Payment.ID, i)
					stored, err := s.Payment(ctx, change.Payment.ID)
					require.NoError(t, err)
					assert.Equal(t, change.Payment, *stored, "the change carries the payment as stored")
				}
				n, err := s.Notification(ctx, ntf)
				require.NoError(t, err)
				assert.EqualValues(t, 1<<20, n.BodyLen)
				assert.Equal(t, strings.Repeat("ab", 32), n.BodySHA256)
				assert.Equal(t, sources[i], n.Source)
			}
		})
	}
}
