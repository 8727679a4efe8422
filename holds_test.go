package payments_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

func TestHoldWatcherActsOnceBeforeTheDeadline(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Now()}
	fake := gatewaytest.NewFake("k")
	store := memory.New()
	newSvc := func() *payments.Service {
		svc, err := payments.New(store, payments.WithGateway(fake), payments.WithClock(clk.Now),
			payments.WithHoldWatch(payments.HoldWatch{Action: payments.HoldCapture, Margin: time.Hour,
				For: func(p payments.Payment) payments.HoldAction {
					if p.Reference == "order:warn:abc" {
						return payments.HoldWarn
					}
					return ""
				}}))
		require.NoError(t, err)
		return svc
	}
	a, b := newSvc(), newSvc() // two instances on one Store
	events := a.Subscribe(ctx, 16)

	authorize := func(ref string, deadline time.Time) *payments.Payment {
		p, err := a.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "amy", Amount: payments.Money{Amount: 700, Currency: "USD"},
			Capture: payments.CaptureManual, Reference: ref})
		require.NoError(t, err)
		res, err := a.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "auth_" + p.ID, Type: "payment.authorized",
			PaymentID: p.GatewayID, CaptureBefore: deadline.Format(time.RFC3339)}, time.Now()))
		require.NoError(t, err)
		require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
		return p
	}
	capture := authorize("order:cap:abc", clk.Now().Add(3*time.Hour))
	warn := authorize("order:warn:abc", clk.Now().Add(3*time.Hour))
	drain(events)

	n, err := a.WatchHolds(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "three hours before the deadline, outside the margin")

	clk.Advance(2*time.Hour + 30*time.Minute)
	na, err := a.WatchHolds(ctx)
	require.NoError(t, err)
	nb, err := b.WatchHolds(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, na+nb, "each hold handled once across both instances")

	p, err := a.Payment(ctx, capture.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, p.Status, "captured before its deadline")
	assert.Equal(t, 1, countCalls(fake.Calls(), "capture "+capture.ID+":capture:hold-expiry"))
	p, err = a.Payment(ctx, warn.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusAuthorized, p.Status, "only warned")
	warned := false
	for len(events) > 0 {
		if ev := <-events; ev.Type == payments.EventHoldExpiring && ev.Payment.ID == warn.ID {
			warned = true
		}
	}
	assert.True(t, warned, "the warning is published")

	clk.Advance(10 * time.Minute)
	n, err = b.WatchHolds(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "never twice")
	journal, _, err := a.Notifications(ctx, payments.NotificationFilter{})
	require.NoError(t, err)
	holds := 0
	for _, row := range journal {
		if row.Source == payments.SourceHold {
			holds++
		}
	}
	assert.Equal(t, 2, holds, "what the watcher did is journaled")
}

func countCalls(calls []string, want string) int {
	n := 0
	for _, c := range calls {
		if c == want {
			n++
		}
	}
	return n
}
