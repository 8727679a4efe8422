package stripe_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/store/memory"
	paymentswebhook "github.com/payrail/payments/webhook"
)

// endpoint is a host's Stripe webhook endpoint as the README's "Moving
// from a three-event Stripe endpoint" sets it up: webhook.Mount over a
// Service whose driver has a key and CaptureAfterReview, talking to
// fakeAPI; Stripe's deliveries are real HTTP requests.
type endpoint struct {
	t     *testing.T
	url   string
	svc   *payments.Service
	store payments.Store
	api   *fakeAPI
}

func newEndpoint(t *testing.T, mods ...func(*stripe.Config)) *endpoint {
	api := newFakeAPI(t)
	g := newGateway(t, append([]func(*stripe.Config){func(c *stripe.Config) {
		c.SecretKey, c.BaseURL, c.CaptureAfterReview = "sk_test_123", api.URL, true
	}}, mods...)...)
	store := memory.New()
	svc, err := payments.New(store, payments.WithGateway(g))
	require.NoError(t, err)
	mux := http.NewServeMux()
	paymentswebhook.Mount(mux, svc)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &endpoint{t: t, url: srv.URL + "/stripe-handleWebhookEvents", svc: svc, store: store, api: api}
}

// post delivers a signed event as Stripe does and returns the status and
// the outcome the acknowledgement names.
func (e *endpoint) post(req *payments.WebhookRequest) (int, payments.Outcome) {
	e.t.Helper()
	hreq, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.url, bytes.NewReader(req.Body))
	require.NoError(e.t, err)
	hreq.Header.Set("Content-Type", "application/json; charset=utf-8")
	hreq.Header.Set(stripe.SignatureHeader, req.Header.Get(stripe.SignatureHeader))
	resp, err := http.DefaultClient.Do(hreq)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	var ack struct{ Outcome payments.Outcome }
	_ = json.Unmarshal(body, &ack)
	return resp.StatusCode, ack.Outcome
}

// deliver posts req until it is acknowledged, as Stripe redelivers an
// event answered 5xx, and returns the acknowledged outcome and how many
// deliveries failed first.
func (e *endpoint) deliver(req *payments.WebhookRequest) (payments.Outcome, int) {
	e.t.Helper()
	for failed := 0; failed < 20; failed++ {
		code, outcome := e.post(req)
		if code == http.StatusOK {
			return outcome, failed
		}
		require.Equal(e.t, http.StatusInternalServerError, code, "only a failure Stripe retries")
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatal("never acknowledged")
	return "", 0
}

// checkout starts a manual-capture payment of 25.00 USD for account.
func (e *endpoint) checkout(account string, capture payments.CaptureMode) *payments.Payment {
	e.t.Helper()
	p, err := e.svc.Checkout(e.t.Context(), "stripe", payments.CheckoutRequest{Account: account, Amount: usd(2500),
		Reference: "order:" + account + ":x1", Capture: capture})
	require.NoError(e.t, err)
	return p
}

func (e *endpoint) balance(account string) int64 {
	e.t.Helper()
	b, err := e.svc.Balance(e.t.Context(), account, "USD")
	require.NoError(e.t, err)
	return b.Money.Amount
}

func (e *endpoint) payment(id string) *payments.Payment {
	e.t.Helper()
	p, err := e.svc.Payment(e.t.Context(), id)
	require.NoError(e.t, err)
	return p
}

func (e *endpoint) entries(paymentID string) []payments.Entry {
	e.t.Helper()
	es, _, err := e.svc.Entries(e.t.Context(), payments.EntryFilter{PaymentID: paymentID})
	require.NoError(e.t, err)
	return es
}

// executed counts the requests to call ("POST /v1/…") that ran at the
// fake, and checks each carried key.
func (e *endpoint) executed(call, key string) int {
	e.t.Helper()
	n := 0
	for _, c := range e.api.executedCalls() {
		if path, k, _ := strings.Cut(c, " key="); path == call {
			assert.Equal(e.t, key, k, call)
			n++
		}
	}
	return n
}

// TestThreeEventEndpoint runs the flow of a backend whose endpoint sends
// only payment_intent.amount_capturable_updated, review.closed and
// charge.refunded, and which captures once the amount is capturable and no
// Radar review is open, or once the review closes approved.
func TestThreeEventEndpoint(t *testing.T) {
	t.Run("authorized without review: captured once, booked once", func(t *testing.T) {
		e := newEndpoint(t)
		// Every capture takes a while at Stripe, so that concurrent
		// deliveries meet one still executing.
		e.api.setDelay(300 * time.Millisecond)
		p := e.checkout("user-1", payments.CaptureManual)
		e.api.authorize(t, p.GatewayID)
		capturable := objectEvent(t, "payment_intent.amount_capturable_updated", e.api.intent(p.GatewayID), nil)

		outcomes := make([]payments.Outcome, 3)
		failed := make([]int, 3)
		var wg sync.WaitGroup
		for i := range outcomes {
			wg.Go(func() { outcomes[i], failed[i] = e.deliver(capturable) })
		}
		wg.Wait()
		assert.ElementsMatch(t, []payments.Outcome{payments.OutcomeRecorded, payments.OutcomeDuplicate, payments.OutcomeDuplicate}, outcomes)
		t.Logf("deliveries answered 500 before Stripe's redelivery was acknowledged: %v", failed)

		succeeded := objectEvent(t, "payment_intent.succeeded", e.api.intent(p.GatewayID), nil)
		outcome, _ := e.deliver(succeeded)
		assert.Equal(t, payments.OutcomeDuplicate, outcome, "the capture's charge is payment_intent.succeeded's")

		capture := "POST /v1/payment_intents/" + p.GatewayID + "/capture"
		assert.Equal(t, 1, e.executed(capture, p.ID+":capture"), "captured once at Stripe")
		assert.Equal(t, int64(2500), e.balance("user-1"))
		assert.Equal(t, payments.StatusSucceeded, e.payment(p.ID).Status)
		require.Len(t, e.entries(p.ID), 1)
		assert.Equal(t, payments.KindCharge, e.entries(p.ID)[0].Kind)

		// The host's own capture with no key of its own is the same
		// request at Stripe, and so the same entry.
		res, err := e.svc.Capture(t.Context(), p.ID, payments.CaptureOptions{})
		require.NoError(t, err)
		assert.Empty(t, res.Recorded.Entries)
		assert.Equal(t, 1, e.executed(capture, p.ID+":capture"))
		assert.Equal(t, int64(2500), e.balance("user-1"))
	})

	t.Run("review approved later: captured then", func(t *testing.T) {
		e := newEndpoint(t)
		p := e.checkout("user-2", payments.CaptureManual)
		e.api.authorize(t, p.GatewayID)
		e.api.openReview(t, p.GatewayID)
		capturable := objectEvent(t, "payment_intent.amount_capturable_updated", e.api.intent(p.GatewayID), nil)
		outcome, _ := e.deliver(capturable)
		assert.Equal(t, payments.OutcomeRecorded, outcome)
		assert.Equal(t, payments.StatusAuthorized, e.payment(p.ID).Status, "held while Radar reviews it")
		capture := "POST /v1/payment_intents/" + p.GatewayID + "/capture"
		assert.Zero(t, e.executed(capture, ""))
		assert.Zero(t, e.balance("user-2"))

		closed := objectEvent(t, "review.closed", e.api.closeReview(t, p.GatewayID, "approved"), nil)
		outcome, _ = e.deliver(closed)
		assert.Equal(t, payments.OutcomeRecorded, outcome)
		assert.Equal(t, payments.StatusSucceeded, e.payment(p.ID).Status)
		assert.Equal(t, int64(2500), e.balance("user-2"))
		assert.Equal(t, 1, e.executed(capture, p.ID+":capture"))

		for _, again := range []*payments.WebhookRequest{closed, capturable} {
			outcome, _ = e.deliver(again)
			assert.Equal(t, payments.OutcomeDuplicate, outcome)
		}
		assert.Equal(t, 1, e.executed(capture, p.ID+":capture"), "an intent no longer awaiting capture is not captured again")
		assert.Len(t, e.entries(p.ID), 1)
	})

	t.Run("review closed as fraud: canceled, nothing booked", func(t *testing.T) {
		e := newEndpoint(t)
		p := e.checkout("user-3", payments.CaptureManual)
		e.api.authorize(t, p.GatewayID)
		e.api.openReview(t, p.GatewayID)
		outcome, _ := e.deliver(objectEvent(t, "payment_intent.amount_capturable_updated", e.api.intent(p.GatewayID), nil))
		assert.Equal(t, payments.OutcomeRecorded, outcome)

		closed := objectEvent(t, "review.closed", e.api.closeReview(t, p.GatewayID, "refunded_as_fraud"), nil)
		outcome, _ = e.deliver(closed)
		assert.Equal(t, payments.OutcomeRecorded, outcome)
		assert.Equal(t, payments.StatusCanceled, e.payment(p.ID).Status)
		assert.Equal(t, "canceled", e.api.intent(p.GatewayID)["status"], "the authorization is released")
		assert.Equal(t, 1, e.executed("POST /v1/payment_intents/"+p.GatewayID+"/cancel", p.ID+":cancel"))
		assert.Zero(t, e.executed("POST /v1/payment_intents/"+p.GatewayID+"/capture", ""))
		assert.Empty(t, e.entries(p.ID))
		assert.Zero(t, e.balance("user-3"))

		outcome, _ = e.deliver(closed)
		assert.Equal(t, payments.OutcomeDuplicate, outcome)
	})
}

// chargeRefunded returns charge.refunded for the charge of a paid intent
// the fake holds, as 2023-10-16 renders it: amount_refunded cumulative, no
// refunds listed.
func chargeRefunded(t *testing.T, pi map[string]any, cumulative int64) *payments.WebhookRequest {
	body := edit(t, fixture(t, "charge.refunded.unlisted"), func(ev map[string]any) {
		ev["id"] = fmt.Sprintf("evt_refunded%d_%d", cumulative, time.Now().UnixNano())
		o := object(ev)
		id := pi["id"].(string)
		o["id"], o["payment_intent"], o["metadata"] = chargeOf(id), id, pi["metadata"]
		o["amount"], o["amount_captured"], o["amount_refunded"] = pi["amount_received"], pi["amount_received"], cumulative
		o["refunded"] = cumulative == pi["amount_received"]
	})
	return signed(body, testSecret, time.Now())
}

// TestDashboardRefundFromChargeRefunded: a refund made in the Dashboard,
// delivered only as charge.refunded, is booked once, with the amount of
// that refund under its own id — never the cumulative amount_refunded.
func TestDashboardRefundFromChargeRefunded(t *testing.T) {
	e := newEndpoint(t)
	p := e.checkout("user-4", payments.CaptureAutomatic)
	outcome, _ := e.deliver(objectEvent(t, "payment_intent.succeeded", e.api.pay(t, p.GatewayID), nil))
	require.Equal(t, payments.OutcomeRecorded, outcome)

	e.api.refundInDashboard(p.GatewayID, 700)
	first := chargeRefunded(t, e.api.intent(p.GatewayID), 700)
	outcome, _ = e.deliver(first)
	assert.Equal(t, payments.OutcomeRecorded, outcome)
	assert.Equal(t, int64(2500-700), e.balance("user-4"))
	outcome, _ = e.deliver(first)
	assert.Equal(t, payments.OutcomeDuplicate, outcome)

	e.api.refundInDashboard(p.GatewayID, 300)
	outcome, _ = e.deliver(chargeRefunded(t, e.api.intent(p.GatewayID), 1000))
	assert.Equal(t, payments.OutcomeRecorded, outcome)
	assert.Equal(t, int64(2500-1000), e.balance("user-4"))
	assert.Equal(t, payments.StatusPartiallyRefunded, e.payment(p.ID).Status)

	var refunds []int64
	for _, en := range e.entries(p.ID) {
		if en.Kind == payments.KindRefund {
			assert.Regexp(t, "^re_fake", en.GatewayRef)
			refunds = append(refunds, en.Amount.Amount)
		}
	}
	assert.ElementsMatch(t, []int64{-700, -300}, refunds, "each refund's own amount")
	assert.Equal(t, 3, e.executed("GET /v1/refunds", ""), "one listing per delivery")
}

// TestUnitemizedRefundIsRejectedNotBooked: a Gateway without a key cannot
// itemize charge.refunded. The notification is journaled as a verified
// rejection that says why and how to fix it — nothing moves, not even the
// status — and a Gateway with a key books it from a replay.
func TestUnitemizedRefundIsRejectedNotBooked(t *testing.T) {
	e := newEndpoint(t)
	p := e.checkout("user-6", payments.CaptureAutomatic)
	outcome, _ := e.deliver(objectEvent(t, "payment_intent.succeeded", e.api.pay(t, p.GatewayID), nil))
	require.Equal(t, payments.OutcomeRecorded, outcome)
	e.api.refundInDashboard(p.GatewayID, 700)

	webhookOnly, err := payments.New(e.store, payments.WithGateway(newGateway(t)))
	require.NoError(t, err)
	res, err := webhookOnly.HandleWebhook(t.Context(), "stripe", chargeRefunded(t, e.api.intent(p.GatewayID), 700))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	n := res.Notification
	assert.Equal(t, payments.OutcomeRejected, n.Outcome, "not a success")
	assert.True(t, n.Verified)
	assert.Contains(t, n.Detail, "the refund could not be itemized")
	assert.Contains(t, n.Detail, "set STRIPE_SECRET_KEY (Config.SecretKey) and replay this notification")
	assert.Equal(t, http.StatusOK, res.Reply.Status, "acknowledged, so that Stripe does not resend it for days")
	assert.Equal(t, int64(2500), e.balance("user-6"))
	assert.Equal(t, payments.StatusSucceeded, e.payment(p.ID).Status)

	replayed, err := e.svc.Replay(t.Context(), n.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, replayed.Notification.Outcome)
	assert.Equal(t, int64(2500-700), e.balance("user-6"))
}
