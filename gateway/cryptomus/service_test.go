package cryptomus_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/store/memory"
)

// TestServiceRoundTrip runs a payment through the Service: checkout against
// the fake API, the paid webhook (carrying no additional_data, so the
// account comes from the stored payment), a resent duplicate, the refund
// call, and the refund_paid webhook.
func TestServiceRoundTrip(t *testing.T) {
	ctx := t.Context()
	api := newFakeAPI(t)
	api.answer("/v1/payment", http.StatusOK, invoiceAnswer)
	api.answer("/v1/payment/refund", http.StatusOK, `{"state":0,"result":[]}`)
	g := api.gateway(func(c *cryptomus.Config) {
		c.RefundAddress = func(context.Context, payments.Payment) (string, error) {
			return "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj", nil
		}
	})
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)

	p, err := svc.Checkout(ctx, "cryptomus", payments.CheckoutRequest{Account: "user-7", Amount: usd(t, "15.00"), Reference: "order:1:abc123"})
	require.NoError(t, err)
	assert.Equal(t, p.ID, api.last().Fields["order_id"], "the library's payment id is the order_id")
	assert.Equal(t, "26109ba0-b05b-4ee0-93d1-fd62c822ce95", p.GatewayID)
	assert.Equal(t, "https://pay.cryptomus.com/pay/26109ba0-b05b-4ee0-93d1-fd62c822ce95", p.RedirectURL)

	webhook := func(status string) *payments.WebhookRequest {
		return webhookRequest(webhookBody(t, paymentFields(
			field{"uuid", p.GatewayID}, field{"order_id", p.ID}, field{"status", status}, field{"additional_data", nil},
		), paymentKey))
	}
	res, err := svc.HandleWebhook(ctx, "cryptomus", webhook("paid"))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	res, err = svc.HandleWebhook(ctx, "cryptomus", webhook("paid"))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
	bal, err := svc.Balance(ctx, "user-7", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1500), bal.Money.Amount)

	op, err := svc.Refund(ctx, p.ID, payments.RefundOptions{})
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, op.Payment.Status, "nothing moves until Cryptomus reports refund_paid")
	assert.Equal(t, p.GatewayID, api.last().Fields["uuid"])

	res, err = svc.HandleWebhook(ctx, "cryptomus", webhook("refund_process"))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeIgnored, res.Notification.Outcome)
	res, err = svc.HandleWebhook(ctx, "cryptomus", webhook("refund_paid"))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	bal, err = svc.Balance(ctx, "user-7", "USD")
	require.NoError(t, err)
	assert.Zero(t, bal.Money.Amount)
	after, err := svc.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusRefunded, after.Status)

	// A late "check" never moves the payment back.
	_, err = svc.HandleWebhook(ctx, "cryptomus", webhook("check"))
	require.NoError(t, err)
	after, err = svc.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusRefunded, after.Status)
}

// TestUnattributedIsParked: a paid invoice the Service never saw, with no
// account in additional_data, is parked rather than dropped.
func TestUnattributedIsParked(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(newGateway(t)))
	require.NoError(t, err)
	body := webhookBody(t, paymentFields(field{"additional_data", nil}), paymentKey)
	res, err := svc.HandleWebhook(t.Context(), "cryptomus", webhookRequest(body))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome)
}

// TestOverpaymentThroughService: with overpayments charged in full, a
// TRX invoice of 3.00 paid_over with 3.50 books 3.50, Cryptomus having
// reported the overpayment; paid with 3.50, a status that says "exactly as
// much as required", contradicts itself and is parked for review.
func TestOverpaymentThroughService(t *testing.T) {
	ctx := t.Context()
	api := newFakeAPI(t)
	g := api.gateway(func(c *cryptomus.Config) { c.Overpayment = cryptomus.ChargePaidAmount })
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	three, err := payments.ParseMoney("3", "TRX")
	require.NoError(t, err)
	webhook := func(p *payments.Payment, status string) *payments.WebhookRequest {
		return webhookRequest(webhookBody(t, paymentFields(
			field{"uuid", p.GatewayID}, field{"order_id", p.ID}, field{"amount", "3.00000000"}, field{"currency", "TRX"},
			field{"payment_amount", "3.50000000"}, field{"payer_currency", "TRX"}, field{"status", status},
			field{"additional_data", nil},
		), paymentKey))
	}
	for _, tc := range []struct {
		status  string
		outcome payments.Outcome
		booked  int64
		payment payments.Status
	}{
		{"paid_over", payments.OutcomeRecorded, 350_000_000, payments.StatusSucceeded},
		{"paid", payments.OutcomeParked, 0, payments.StatusPending},
	} {
		account := "user-" + tc.status
		p, err := svc.Checkout(ctx, "cryptomus", payments.CheckoutRequest{Account: account, Amount: three, Reference: "order:1:" + tc.status})
		require.NoError(t, err)
		res, err := svc.HandleWebhook(ctx, "cryptomus", webhook(p, tc.status))
		require.NoError(t, err)
		assert.Equal(t, tc.outcome, res.Notification.Outcome, "%s: %s", tc.status, res.Notification.Detail)
		bal, err := svc.Balance(ctx, account, "TRX")
		require.NoError(t, err)
		assert.Equal(t, tc.booked, bal.Money.Amount, tc.status)
		after, err := svc.Payment(ctx, p.ID)
		require.NoError(t, err)
		assert.Equal(t, tc.payment, after.Status, tc.status)
		if tc.outcome == payments.OutcomeParked {
			assert.Contains(t, res.Notification.Detail, payments.ErrMismatch.Error())
		}
	}
}
