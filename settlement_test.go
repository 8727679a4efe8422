package payments_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/rates"
	"github.com/payrail/payments/store/memory"
)

func TestConvertAcrossExponents(t *testing.T) {
	for _, c := range []struct {
		from payments.Money
		rate string
		to   payments.Currency
		want int64
	}{
		// 1,234 JPY at 0.006712 USD/JPY = 8.282608 USD → 8.28
		{payments.Money{Amount: 1234, Currency: "JPY"}, "0.006712", "USD", 828},
		// 10.05 USD at 0.30745 KWD/USD = 3.0898725 KWD → 3.090
		{payments.Money{Amount: 1005, Currency: "USD"}, "0.30745", "KWD", 3090},
		// 0.00123456 BTC at 64321.5 USD/BTC = 79.40674304 USD → 79.41
		{payments.Money{Amount: 123456, Currency: "BTC"}, "64321.5", "USD", 7941},
		// half away from zero, both ways: 0.125 EUR at 1 → 0.13, −0.125 → −0.13
		{payments.Money{Amount: 125, Currency: "KWD"}, "1", "USD", 13},
		{payments.Money{Amount: -125, Currency: "KWD"}, "1", "USD", -13},
		// 1 JPY at 0.0067 USD = 0.0067 USD → 0.01
		{payments.Money{Amount: 1, Currency: "JPY"}, "0.0067", "USD", 1},
		// 100.00 USD at 151.236 JPY/USD = 15,123.6 JPY → 15,124
		{payments.Money{Amount: 10000, Currency: "USD"}, "151.236", "JPY", 15124},
	} {
		got, err := payments.Convert(c.from, c.rate, c.to)
		require.NoError(t, err, "%s at %s", c.from, c.rate)
		assert.Equal(t, payments.Money{Amount: c.want, Currency: c.to}, got, "%s at %s", c.from, c.rate)
	}
	for _, bad := range []string{"", "0", "-1.2", "1e3", "1/3", "abc"} {
		_, err := payments.Convert(payments.Money{Amount: 100, Currency: "EUR"}, bad, "USD")
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "rate %q", bad)
	}
}

// movingRates is a RateSource whose EUR/USD rate the test sets, and that
// has none while it is empty.
type movingRates struct {
	mu   sync.Mutex
	rate string
}

func (m *movingRates) set(r string) { m.mu.Lock(); m.rate = r; m.mu.Unlock() }

func (m *movingRates) Rate(ctx context.Context, from, to payments.Currency, at time.Time) (payments.Rate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rate == "" {
		return payments.Rate{}, payments.ErrNoRate
	}
	return rates.Fixed{"EUR/USD": m.rate}.Rate(ctx, from, to, at)
}

func TestRefundAfterTheRateMovedGivesBackWhatWasCredited(t *testing.T) {
	ctx := t.Context()
	src := &movingRates{rate: "1.0842"}
	svc, fake, _ := newService(t, payments.WithSettlement(payments.Settlement{Currency: "USD", Rates: src}))
	charge := gatewaytest.Event{ID: "e1", Type: "payment.succeeded", PaymentID: "p1", Account: "eve", Amount: "10.01", Currency: "EUR"}
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge, time.Now()))
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	c := res.Recorded.Entries[0].Settlement
	require.NotNil(t, c)
	// 10.01 EUR × 1.0842 = 10.852842 USD → 10.85
	assert.Equal(t, payments.Conversion{Money: payments.Money{Amount: 1085, Currency: "USD"}, Rate: "1.0842", Source: "fixed", At: c.At}, *c)

	src.set("1.2500") // the euro rose: today's rate would give back 12.51
	for i, part := range []string{"3.33", "3.33", "3.35"} {
		refund := gatewaytest.Event{ID: "r" + part + string(rune('a'+i)), Type: "refund.succeeded", PaymentID: "p1",
			RefundID: "re_" + string(rune('a'+i)), Amount: part, Currency: "EUR"}
		_, err := svc.HandleWebhook(ctx, "fake", fake.Request(refund, time.Now()))
		require.NoError(t, err)
	}
	bal, err := svc.Balance(ctx, "eve", "EUR")
	require.NoError(t, err)
	assert.Zero(t, bal.Money.Amount)
	assert.Equal(t, payments.Money{Amount: 0, Currency: "USD"}, bal.Settled, "refunded in full: exactly what was credited comes back")
	entries, _, err := svc.Entries(ctx, payments.EntryFilter{Account: "eve"})
	require.NoError(t, err)
	for _, e := range entries[1:] {
		assert.Equal(t, "1.0842", e.Settlement.Rate, "a refund converts at the charge's rate")
	}
}

func TestEntryWaitsForARateAndIsAppliedOnceConverted(t *testing.T) {
	ctx := t.Context()
	src := &movingRates{}
	h := newHost()
	svc, fake, _ := newService(t, payments.WithBalanceService(h),
		payments.WithSettlement(payments.Settlement{Currency: "USD", Rates: src}))
	charge := gatewaytest.Event{ID: "e1", Type: "payment.succeeded", PaymentID: "p1", Account: "eve", Amount: "10.00", Currency: "EUR"}
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge, time.Now()))
	require.NoError(t, err, "recorded in its own currency")
	require.True(t, res.Recorded.Entries[0].Settlement.Pending())
	applied, _, calls := h.snapshot()
	assert.Zero(t, calls, "nothing is credited at a guessed rate")
	waiting, _, err := svc.Entries(ctx, payments.EntryFilter{Unsettled: true})
	require.NoError(t, err)
	assert.Len(t, waiting, 1, "the host sees what waits")

	n, err := svc.SettlePending(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "still no rate")
	src.set("1.10")
	n, err = svc.SettlePending(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	bal, err := svc.Balance(ctx, "eve", "EUR")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 1100, Currency: "USD"}, bal.Settled)
	waiting, _, err = svc.Entries(ctx, payments.EntryFilter{Unsettled: true})
	require.NoError(t, err)
	assert.Empty(t, waiting)

	_, err = svc.SyncNow(ctx)
	require.NoError(t, err)
	applied, _, _ = h.snapshot()
	assert.Equal(t, 1, applied, "applied once converted")
}

func TestGatewayFiguresAreKept(t *testing.T) {
	ctx := t.Context()
	svc, err := payments.New(memory.New(), payments.WithGateway(settlingGateway{}),
		payments.WithSettlement(payments.Settlement{Currency: "USD", Rates: rates.Fixed{}}))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(ctx, "settling", &payments.WebhookRequest{Body: []byte("{}")})
	require.NoError(t, err)
	c := res.Recorded.Entries[0].Settlement
	require.NotNil(t, c)
	assert.Equal(t, "gateway", c.Source)
	assert.Equal(t, int64(1090), c.Money.Amount)
}

// TestGatewayFiguresDroppedWithoutSettlement: a driver's own figure means
// nothing to a Service that does not settle; no entry carries a conversion
// then, so balances stay in one kind.
func TestGatewayFiguresDroppedWithoutSettlement(t *testing.T) {
	ctx := t.Context()
	svc, err := payments.New(memory.New(), payments.WithGateway(settlingGateway{}))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(ctx, "settling", &payments.WebhookRequest{Body: []byte("{}")})
	require.NoError(t, err)
	assert.Nil(t, res.Recorded.Entries[0].Settlement)
	bal, err := svc.Balance(ctx, "zoe", "EUR")
	require.NoError(t, err)
	assert.Zero(t, bal.Settled)
}

// settlingGateway reports its own settlement figures, as Stripe's balance
// transactions do.
type settlingGateway struct{ bareGateway }

func (settlingGateway) Name() string { return "settling" }
func (settlingGateway) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return &payments.Changes{EventID: "e1", Entries: []payments.Entry{{
		Kind: payments.KindCharge, GatewayRef: "ch_1", Account: "zoe", Amount: payments.Money{Amount: 1000, Currency: "EUR"},
		Settlement: &payments.Conversion{Money: payments.Money{Amount: 1090, Currency: "USD"}, Rate: "1.09", Source: "gateway"},
	}}}, nil
}
