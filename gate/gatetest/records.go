package gatetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

func recordTests() []namedTest {
	return []namedTest{
		{"CreateAndRead", testCreateAndRead},
		{"CreateConflicts", testCreateConflicts},
		{"AttachPaymentOnce", testAttachPaymentOnce},
		{"ConcurrentAttach", testConcurrentAttach},
		{"Following", testFollowing},
	}
}

// record returns a record of merchant's payment mpid created at.
func record(merchant, mpid string, at time.Time) *gate.Record {
	return &gate.Record{
		ID: "gp_" + hexOf(merchant+"/"+mpid), Merchant: merchant, MerchantPaymentID: mpid,
		Fingerprint: fmt.Sprintf("%x", hashOf(mpid)),
		Request: gate.PaymentRequest{ID: mpid, CustomerEmail: "ann@example.com", CustomerName: "Ann «Zoë» O'Brien",
			Amount: "10.50", Currency: "USD", SuccessURL: "https://shop.example/ok", ErrorURL: "https://shop.example/fail",
			PostbackURL: "https://shop.example/postback"},
		CreatedAt: at,
	}
}

func assertRecord(t *testing.T, want, got *gate.Record) {
	t.Helper()
	assert.True(t, sameInstant(want.CreatedAt, got.CreatedAt), "created at %v, got %v", want.CreatedAt, got.CreatedAt)
	w, g := *want, *got
	w.CreatedAt, g.CreatedAt = time.Time{}, time.Time{}
	assert.Equal(t, w, g)
}

func testCreateAndRead(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "order-1", epoch)
	r.Gateway = "fake"
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	got, err := s.Records.Record(ctx, r.ID)
	require.NoError(t, err)
	assertRecord(t, r, got)
	got, err = s.Records.RecordByMerchant(ctx, "m1", "order-1")
	require.NoError(t, err)
	assertRecord(t, r, got)

	_, err = s.Records.Record(ctx, "gp_00000000000000000000000000000000")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	_, err = s.Records.RecordByMerchant(ctx, "m2", "order-1")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	_, err = s.Records.RecordByPayment(ctx, "pay_none")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	pbs, err := s.Records.Postbacks(ctx, r.ID)
	require.NoError(t, err)
	assert.Empty(t, pbs)
}

func testCreateConflicts(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "order-1", epoch)
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	again := record("m1", "order-1", epoch)
	again.ID = "gp_11111111111111111111111111111111"
	assert.ErrorIs(t, s.Records.CreateRecord(ctx, again), payments.ErrConflict, "one record per (merchant, id)")
	sameID := record("m1", "order-2", epoch)
	sameID.ID = r.ID
	assert.ErrorIs(t, s.Records.CreateRecord(ctx, sameID), payments.ErrConflict, "one record per gate id")
	require.NoError(t, s.Records.CreateRecord(ctx, record("m2", "order-1", epoch)), "merchants' ids are their own")
	_, err := s.Records.RecordByMerchant(ctx, "m1", "order-2")
	assert.ErrorIs(t, err, payments.ErrNotFound, "a refused create stores nothing")
}

func testAttachPaymentOnce(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "order-1", epoch)
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	got, err := s.Records.AttachPayment(ctx, r.ID, "fake2", "pay_1")
	require.NoError(t, err)
	assert.Equal(t, "fake2", got.Gateway)
	assert.Equal(t, "pay_1", got.PaymentID)
	got, err = s.Records.AttachPayment(ctx, r.ID, "fake", "pay_2")
	require.NoError(t, err)
	assert.Equal(t, "pay_1", got.PaymentID, "the first payment attached stays")
	assert.Equal(t, "fake2", got.Gateway)
	byPayment, err := s.Records.RecordByPayment(ctx, "pay_1")
	require.NoError(t, err)
	assert.Equal(t, r.ID, byPayment.ID)
	_, err = s.Records.RecordByPayment(ctx, "pay_2")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	_, err = s.Records.AttachPayment(ctx, "gp_00000000000000000000000000000000", "fake", "pay_3")
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

// Of concurrent checkouts one payment wins, and every caller is told which.
func testConcurrentAttach(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "order-1", epoch)
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	stores := []gate.RecordStore{s.Records}
	if s.Peer != nil {
		stores = append(stores, s.Peer(t))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := map[string]bool{}
	var failures atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			got, err := stores[i%len(stores)].AttachPayment(ctx, r.ID, "fake", fmt.Sprintf("pay_%d", i))
			if err != nil {
				failures.Add(1)
				t.Errorf("attach: %v", err)
				return
			}
			mu.Lock()
			winners[got.PaymentID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Len(t, winners, 1, "every caller sees the one payment attached")
}

func testFollowing(t *testing.T, s Stores) {
	ctx := t.Context()
	old := record("m1", "old", epoch.Add(-48*time.Hour))
	noPayment := record("m1", "no-payment", epoch)
	followed := record("m1", "followed", epoch.Add(time.Minute))
	disputed := record("m1", "disputed", epoch.Add(2*time.Minute))
	later := record("m2", "later", epoch.Add(3*time.Minute))
	for i, r := range []*gate.Record{old, noPayment, followed, disputed, later} {
		require.NoError(t, s.Records.CreateRecord(ctx, r))
		if r != noPayment {
			_, err := s.Records.AttachPayment(ctx, r.ID, "fake", fmt.Sprintf("pay_%d", i))
			require.NoError(t, err)
		}
	}
	for _, st := range []gate.Status{gate.StatusSucceeded, gate.StatusDisputed} {
		_, err := s.Records.QueuePostback(ctx, postback(disputed, st, epoch))
		require.NoError(t, err)
	}
	got, err := s.Records.Following(ctx, epoch.Add(-time.Hour))
	require.NoError(t, err)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.MerchantPaymentID)
	}
	assert.Equal(t, []string{"followed", "later"}, ids, "oldest first; none without a payment, before since, or disputed")
	got, err = s.Records.Following(ctx, epoch.Add(time.Minute))
	require.NoError(t, err)
	require.NotEmpty(t, got)
	assert.Equal(t, "followed", got[0].MerchantPaymentID, "since is inclusive")
}
