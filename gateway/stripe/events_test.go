package stripe_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
)

// Ids from testdata.
const (
	piID      = "pi_3OPq1cJN5vQBdWEx0u9mW1a8"
	chargeID  = "ch_3OPq1cJN5vQBdWEx0Dq7h2Ke"
	refund1   = "re_3OPs0aJN5vQBdWEx0Jq2Vw9H" // 5.50, succeeded (refund.created)
	refund2   = "re_3OPs0bJN5vQBdWEx0Lm5Zc1K" // 10.00, succeeded then failed (refund.updated)
	refund3   = "re_3OPs0cJN5vQBdWEx0Tb8Kd4M" // 3.00, pending then succeeded (charge.refund.updated)
	disputeID = "dp_1OPs0xJN5vQBdWExqJ8nL3aT" // 16.50
	paymentID = "pay_5c0e2a9b1f4d6e8a7b3c2d1e"
	reference = "order:672626:k3j2h1"

	sessionPI      = "pi_3OQa2bJN5vQBdWEx1Fh6Tn0p" // checkout.session.completed's PaymentIntent
	sessionPayment = "pay_0d1c2b3a4f5e6d7c8b9a0f1e"
)

func eur(minor int64) payments.Money { return payments.Money{Amount: minor, Currency: "EUR"} }

func TestEventMapping(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	entry := func(kind payments.EntryKind, ref string, amount int64, account string, occurred int64) payments.Entry {
		e := payments.Entry{Gateway: "stripe", Kind: kind, GatewayRef: ref, GatewayPaymentID: piID,
			Account: account, Amount: usd(amount), OccurredAt: at(occurred)}
		if kind == payments.KindCharge {
			e.Reference = reference
		}
		return e
	}
	disputed := []payments.PaymentUpdate{{GatewayID: piID, Status: payments.StatusDisputed}}
	tests := []struct {
		fixture  string
		payments []payments.PaymentUpdate
		entries  []payments.Entry
		note     string
	}{
		{"payment_intent.succeeded",
			[]payments.PaymentUpdate{{GatewayID: piID, PaymentID: paymentID, Status: payments.StatusSucceeded,
				Account: "user-42", Reference: reference, Amount: usd(2500)}},
			[]payments.Entry{entry(payments.KindCharge, piID, 2500, "user-42", 1703175362)}, ""},
		{"payment_intent.amount_capturable_updated",
			[]payments.PaymentUpdate{{GatewayID: "pi_3OPr7tJN5vQBdWEx1kS0qZ4b", PaymentID: "pay_9d8c7b6a5f4e3d2c1b0a9f8e",
				Status: payments.StatusAuthorized, Account: "user-7", Reference: "topup:7:x9q2w1",
				Amount: payments.Money{Amount: 5000, Currency: "EUR"}}}, nil, ""},
		{"payment_intent.payment_failed",
			[]payments.PaymentUpdate{{GatewayID: "pi_3OPr9ZJN5vQBdWEx0yT1pB6c", PaymentID: "pay_1a2b3c4d5e6f7a8b9c0d1e2f",
				Status: payments.StatusFailed, Account: "user-9", Amount: usd(1200)}}, nil, ""},
		{"payment_intent.canceled",
			[]payments.PaymentUpdate{{GatewayID: "pi_3OPrBbJN5vQBdWEx1rX8dH0f", Status: payments.StatusCanceled,
				Account: "user-3", Amount: payments.Money{Amount: 800, Currency: "JPY"}}}, nil, ""},
		{"refund.created", nil,
			[]payments.Entry{entry(payments.KindRefund, refund1, -550, "", 1703250000)}, ""},
		{"refund.updated", nil, // failed after it had succeeded
			[]payments.Entry{entry(payments.KindRefund, refund2, -1000, "user-42", 1703254000),
				entry(payments.KindRefundReversal, refund2, 1000, "user-42", 1703254000)}, ""},
		{"charge.refund.updated", nil,
			[]payments.Entry{entry(payments.KindRefund, refund3, -300, "", 1703251200)}, ""},
		{"charge.refunded", // lists re_3 (succeeded), re_2 (failed) and re_1 (succeeded)
			[]payments.PaymentUpdate{{GatewayID: piID, PaymentID: paymentID, Status: payments.StatusPartiallyRefunded,
				Account: "user-42", Reference: reference}},
			[]payments.Entry{entry(payments.KindRefund, refund3, -300, "user-42", 1703254001),
				entry(payments.KindRefund, refund1, -550, "user-42", 1703254001)}, ""},
		{"charge.dispute.created", disputed, nil, ""},
		{"charge.dispute.funds_withdrawn", disputed,
			[]payments.Entry{entry(payments.KindChargeback, disputeID, -1650, "", 1703260002)}, ""},
		{"charge.dispute.funds_reinstated", disputed,
			[]payments.Entry{entry(payments.KindChargeback, disputeID, -1650, "", 1704000001),
				entry(payments.KindChargebackReversal, disputeID, 1650, "", 1704000001)}, ""},
		{"charge.dispute.closed", disputed, // won
			[]payments.Entry{entry(payments.KindChargeback, disputeID, -1650, "", 1704000002),
				entry(payments.KindChargebackReversal, disputeID, 1650, "", 1704000002)}, ""},
		{"review.closed", nil, nil, "review prv_1OPq1eJN5vQBdWExN6w8yQ2c of " + piID + " closed (approved); no money moves"},
		// Checkout Sessions, read by a Gateway without a key: the session's
		// own amount_total once it is paid, keyed by its PaymentIntent.
		{"checkout.session.completed",
			[]payments.PaymentUpdate{{GatewayID: sessionPI, PaymentID: sessionPayment, Status: payments.StatusSucceeded,
				Account: "user-42", Reference: "order:672627:p0o9i8", Amount: usd(2500)}},
			[]payments.Entry{{Gateway: "stripe", Kind: payments.KindCharge, GatewayRef: sessionPI, GatewayPaymentID: sessionPI,
				Account: "user-42", Reference: "order:672627:p0o9i8", Amount: usd(2500), OccurredAt: at(1703260125)}}, ""},
		{"checkout.session.completed.payment_link", // the account from client_reference_id
			[]payments.PaymentUpdate{{GatewayID: "pi_3OQaIcJN5vQBdWEx0Vb7Kq2s", Status: payments.StatusSucceeded,
				Account: "user-77", Amount: eur(1500)}},
			[]payments.Entry{{Gateway: "stripe", Kind: payments.KindCharge, GatewayRef: "pi_3OQaIcJN5vQBdWEx0Vb7Kq2s",
				GatewayPaymentID: "pi_3OQaIcJN5vQBdWEx0Vb7Kq2s", Account: "user-77", Amount: eur(1500), OccurredAt: at(1703261090)}}, ""},
		{"checkout.session.async_payment_succeeded",
			[]payments.PaymentUpdate{{GatewayID: "pi_3OQaYdJN5vQBdWEx1Pn3Gr8t", PaymentID: "pay_6f5e4d3c2b1a0f9e8d7c6b5a",
				Status: payments.StatusSucceeded, Account: "user-5", Reference: "topup:5:r4e3w2", Amount: eur(4000)}},
			[]payments.Entry{{Gateway: "stripe", Kind: payments.KindCharge, GatewayRef: "pi_3OQaYdJN5vQBdWEx1Pn3Gr8t",
				GatewayPaymentID: "pi_3OQaYdJN5vQBdWEx1Pn3Gr8t", Account: "user-5", Reference: "topup:5:r4e3w2",
				Amount: eur(4000), OccurredAt: at(1703434800)}}, ""},
		{"checkout.session.async_payment_failed",
			[]payments.PaymentUpdate{{GatewayID: "pi_3OQaYdJN5vQBdWEx1Pn3Gr8t", PaymentID: "pay_6f5e4d3c2b1a0f9e8d7c6b5a",
				Status: payments.StatusFailed, Account: "user-5", Reference: "topup:5:r4e3w2", Amount: eur(4000)}}, nil, ""},
		{"checkout.session.expired", // before any PaymentIntent: matched by the payment id alone
			[]payments.PaymentUpdate{{PaymentID: "pay_7a6b5c4d3e2f1a0b9c8d7e6f", Status: payments.StatusExpired,
				Account: "user-9", Amount: usd(1200)}}, nil, ""},
		{"customer.created", nil, nil, "event type customer.created is not acted on"},
	}
	g := newGateway(t)
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			c, err := g.ParseWebhook(t.Context(), event(t, tt.fixture))
			require.NoError(t, err)
			assert.Regexp(t, "^evt_", c.EventID)
			assert.Equal(t, tt.payments, c.Payments)
			assert.Equal(t, tt.entries, c.Entries)
			assert.Equal(t, tt.note, c.Note)
			assert.NoError(t, c.Validate("stripe"))
		})
	}
}

func TestRefundStatuses(t *testing.T) {
	base := fixture(t, "refund.updated") // failed, previously succeeded
	tests := []struct {
		name, status string
		previous     any
		kinds        []payments.EntryKind
	}{
		{"succeeded", "succeeded", "pending", []payments.EntryKind{payments.KindRefund}},
		{"pending", "pending", nil, nil},
		{"requires_action", "requires_action", nil, nil},
		{"failed without succeeding", "failed", "pending", nil},
		{"canceled without succeeding", "canceled", "requires_action", nil},
		{"failed after succeeding", "failed", "succeeded", []payments.EntryKind{payments.KindRefund, payments.KindRefundReversal}},
		{"canceled after succeeding", "canceled", "succeeded", []payments.EntryKind{payments.KindRefund, payments.KindRefundReversal}},
		{"failed, status unchanged by this event", "failed", nil, nil},
	}
	g := newGateway(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := edit(t, base, func(ev map[string]any) {
				object(ev)["status"] = tt.status
				prev := map[string]any{}
				if tt.previous != nil {
					prev["status"] = tt.previous
				}
				ev["data"].(map[string]any)["previous_attributes"] = prev
			})
			c, err := g.ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
			require.NoError(t, err)
			var kinds []payments.EntryKind
			for _, e := range c.Entries {
				kinds = append(kinds, e.Kind)
				assert.Equal(t, refund2, e.GatewayRef)
			}
			assert.Equal(t, tt.kinds, kinds)
			if tt.kinds == nil {
				assert.Contains(t, c.Note, tt.status)
			}
		})
	}
}

func TestDisputeClosedWithoutWithdrawal(t *testing.T) {
	for _, status := range []string{"won", "lost", "warning_closed"} {
		body := edit(t, fixture(t, "charge.dispute.closed"), func(ev map[string]any) {
			object(ev)["status"] = status
			object(ev)["balance_transactions"] = []any{}
		})
		c, err := newGateway(t).ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
		require.NoError(t, err)
		assert.Empty(t, c.Entries, status)
		assert.Contains(t, c.Note, "without funds withdrawn")
	}
	lost := edit(t, fixture(t, "charge.dispute.closed"), func(ev map[string]any) { object(ev)["status"] = "lost" })
	c, err := newGateway(t).ParseWebhook(t.Context(), signed(lost, testSecret, time.Now()))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, payments.KindChargeback, c.Entries[0].Kind)
}

func TestCaptureBeforeFromExpandedLatestCharge(t *testing.T) {
	body := edit(t, fixture(t, "payment_intent.amount_capturable_updated"), func(ev map[string]any) {
		object(ev)["latest_charge"] = map[string]any{
			"id": "ch_3OPr7tJN5vQBdWEx1Hc5Vy3P", "object": "charge",
			"payment_method_details": map[string]any{"type": "card", "card": map[string]any{"capture_before": 1703784800}},
		}
	})
	c, err := newGateway(t).ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
	require.NoError(t, err)
	require.Len(t, c.Payments, 1)
	assert.Equal(t, time.Unix(1703784800, 0).UTC(), c.Payments[0].CaptureBefore)

	c, err = newGateway(t).ParseWebhook(t.Context(), event(t, "payment_intent.amount_capturable_updated"))
	require.NoError(t, err)
	assert.True(t, c.Payments[0].CaptureBefore.IsZero(), "latest_charge is an id in webhooks")
}

func TestGatewayNameInEntries(t *testing.T) {
	g := newGateway(t, func(c *stripe.Config) { c.Name = "stripe-eu" })
	c, err := g.ParseWebhook(t.Context(), event(t, "payment_intent.succeeded"))
	require.NoError(t, err)
	assert.Equal(t, "stripe-eu", g.Name())
	assert.Equal(t, "stripe-eu", c.Entries[0].Gateway)
}

// TestChargeRefundedWithoutListing: a charge.refunded event at 2023-10-16
// lists no refunds. A Gateway without a key cannot itemize them and
// refuses the event, saying how to fix it, rather than record a status
// that looks like the refund was booked; one whose host turned listing
// off moves only the status.
func TestChargeRefundedWithoutListing(t *testing.T) {
	_, err := newGateway(t).ParseWebhook(t.Context(), event(t, "charge.refunded.unlisted"))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	require.NotErrorIs(t, err, payments.ErrUnauthenticated)
	for _, want := range []string{"^stripe: ", chargeID, "25.00 USD", "could not be itemized", "STRIPE_SECRET_KEY", "Config.SecretKey", "replay", "DisableRefundListing"} {
		assert.Regexp(t, want, err.Error())
	}

	off := newGateway(t, func(c *stripe.Config) { c.DisableRefundListing = true })
	c, err := off.ParseWebhook(t.Context(), event(t, "charge.refunded.unlisted"))
	require.NoError(t, err)
	assert.Equal(t, []payments.PaymentUpdate{{GatewayID: piID, PaymentID: paymentID, Status: payments.StatusRefunded,
		Account: "user-42", Reference: reference}}, c.Payments)
	assert.Empty(t, c.Entries)
	assert.Contains(t, c.Note, "DisableRefundListing")

	// An event that lists its refunds (an older API version's) needs no key.
	c, err = newGateway(t).ParseWebhook(t.Context(), event(t, "charge.refunded"))
	require.NoError(t, err)
	assert.Len(t, c.Entries, 2)
}

// TestCheckoutSessionsOfOtherModes: a subscription's or a setup's session
// moves no money here.
func TestCheckoutSessionsOfOtherModes(t *testing.T) {
	for _, mode := range []string{"subscription", "setup"} {
		body := edit(t, fixture(t, "checkout.session.completed"), func(ev map[string]any) { object(ev)["mode"] = mode })
		c, err := newGateway(t).ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
		require.NoError(t, err)
		assert.True(t, c.Empty(), mode)
		assert.Contains(t, c.Note, mode+" mode")
	}
	// A Payment Link's session that expired before anyone paid names
	// nothing to record.
	body := edit(t, fixture(t, "checkout.session.expired"), func(ev map[string]any) { object(ev)["metadata"] = map[string]any{} })
	c, err := newGateway(t).ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
	require.NoError(t, err)
	assert.True(t, c.Empty())
	assert.Contains(t, c.Note, "nothing to record")
}
