package otelpay_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/otelpay"
	"github.com/payrail/payments/store/memory"
)

// harness is a Service over the memory store and the Fake gateway, observed
// by an otelpay.Observer over in-memory SDK providers.
type harness struct {
	svc    *payments.Service
	fake   *gatewaytest.Fake
	obs    *otelpay.Observer
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
}

func newHarness(t *testing.T, opts ...payments.Option) *harness {
	t.Helper()
	h := &harness{fake: gatewaytest.NewFake("whsec_otel"), reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = mp.Shutdown(context.Background())
		_ = tp.Shutdown(context.Background())
	})
	var err error
	h.obs, err = otelpay.New(otelpay.Options{MeterProvider: mp, TracerProvider: tp})
	require.NoError(t, err)
	h.svc, err = payments.New(memory.New(), append([]payments.Option{payments.WithGateway(h.fake), payments.WithObserver(h.obs)}, opts...)...)
	require.NoError(t, err)
	return h
}

func charge(id, payment, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: id, Type: "payment.succeeded", PaymentID: payment, Account: account, Amount: amount, Currency: "USD"}
}

// metric returns the named metric of the last collection, failing the test
// when there is none.
func (h *harness) metric(t *testing.T, name string) metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, h.reader.Collect(t.Context(), &rm))
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, otelpay.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			if m.Name == name {
				return m.Data
			}
		}
	}
	require.Failf(t, "no metric", "%s was not recorded", name)
	return nil
}

// counts returns a counter's points by their attributes, encoded.
func counts(t *testing.T, data metricdata.Aggregation) map[string]int64 {
	t.Helper()
	sum, ok := data.(metricdata.Sum[int64])
	require.True(t, ok, "a counter: %T", data)
	assert.True(t, sum.IsMonotonic)
	out := map[string]int64{}
	for _, p := range sum.DataPoints {
		out[p.Attributes.Encoded(attribute.DefaultEncoder())] += p.Value
	}
	return out
}

func attrs(kv ...attribute.KeyValue) string {
	s := attribute.NewSet(kv...)
	return s.Encoded(attribute.DefaultEncoder())
}

func TestWebhookCountsAndSpans(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t)
	now := time.Now()
	_, err := h.svc.HandleWebhook(ctx, "fake", h.fake.Request(charge("e1", "p1", "alice", "10.00"), now))
	require.NoError(t, err)
	_, err = h.svc.HandleWebhook(ctx, "fake", h.fake.Request(charge("e1", "p1", "alice", "10.00"), now))
	require.NoError(t, err)
	bad := h.fake.Request(charge("e2", "p2", "alice", "1.00"), now)
	bad.Body[len(bad.Body)-3] ^= 1
	_, err = h.svc.HandleWebhook(ctx, "fake", bad)
	require.ErrorIs(t, err, payments.ErrUnauthenticated)

	gw, src := otelpay.GatewayKey.String("fake"), otelpay.SourceKey.String("webhook")
	assert.Equal(t, map[string]int64{
		attrs(gw, src, otelpay.OutcomeKey.String("recorded")):                                                    1,
		attrs(gw, src, otelpay.OutcomeKey.String("duplicate")):                                                   1,
		attrs(gw, src, otelpay.OutcomeKey.String("rejected"), attribute.String("error.type", "unauthenticated")): 1,
	}, counts(t, h.metric(t, "payments.webhooks")))

	hist, ok := h.metric(t, "payments.webhook.duration").(metricdata.Histogram[float64])
	require.True(t, ok)
	var n uint64
	for _, p := range hist.DataPoints {
		n += p.Count
	}
	assert.Equal(t, uint64(3), n)

	spans := h.spans.Ended()
	require.Len(t, spans, 3)
	recorded := spanAttrs(spans[0])
	assert.Equal(t, "payments.webhook", spans[0].Name())
	assert.Equal(t, "fake", recorded["payments.gateway"])
	assert.Equal(t, "recorded", recorded["payments.outcome"])
	assert.Equal(t, "payment.succeeded", recorded["payments.event.type"])
	assert.Equal(t, int64(200), recorded["http.response.status_code"])
	assert.NotEmpty(t, recorded["payments.notification.id"])
	assert.Equal(t, codes.Unset, spans[0].Status().Code)

	rejected := spanAttrs(spans[2])
	assert.Equal(t, "rejected", rejected["payments.outcome"])
	assert.Equal(t, "unauthenticated", rejected["error.type"])
	assert.Equal(t, int64(401), rejected["http.response.status_code"])
	require.Len(t, spans[2].Events(), 1, "the error is recorded")
	assert.Equal(t, "exception", spans[2].Events()[0].Name)
	assert.Equal(t, codes.Unset, spans[2].Status().Code, "a rejection is the sender's fault, not an error of ours")
}

func spanAttrs(s sdktrace.ReadOnlySpan) map[string]any {
	out := map[string]any{}
	for _, kv := range s.Attributes() {
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

func TestFailingBalanceServiceShowsFailedSyncAttempts(t *testing.T) {
	ctx := t.Context()
	var calls atomic.Int32
	host := payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		if calls.Add(1) == 1 {
			return errors.New("host database unavailable")
		}
		return payments.Permanent(errors.New("account closed"))
	})
	h := newHarness(t, payments.WithBalanceService(host), payments.WithSyncOptions(payments.SyncOptions{BaseDelay: time.Millisecond}))
	_, err := h.svc.HandleWebhook(ctx, "fake", h.fake.Request(charge("e1", "p1", "alice", "10.00"), time.Now()))
	require.NoError(t, err)
	time.Sleep(5 * time.Millisecond) // past the first retry's backoff
	_, err = h.svc.SyncNow(ctx)
	require.NoError(t, err)

	assert.Equal(t, map[string]int64{
		attrs(otelpay.OutcomeKey.String("failed"), attribute.String("error.type", "_OTHER")):    1,
		attrs(otelpay.OutcomeKey.String("parked"), attribute.String("error.type", "permanent")): 1,
	}, counts(t, h.metric(t, "payments.sync.attempts")))

	var webhook, first sdktrace.ReadOnlySpan
	var syncs int
	for _, s := range h.spans.Ended() {
		switch s.Name() {
		case "payments.webhook":
			webhook = s
		case "payments.sync":
			if syncs++; syncs == 1 {
				first = s
			}
			assert.Equal(t, codes.Error, s.Status().Code)
		}
	}
	require.Equal(t, 2, syncs)
	require.NotNil(t, webhook)
	assert.Equal(t, webhook.SpanContext().SpanID(), first.Parent().SpanID(), "the immediate apply runs under the webhook's span")
	assert.Equal(t, int64(1), spanAttrs(first)["payments.sync.attempt"])
}

func TestAppliedEntriesRecordTheirDelay(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t, payments.WithBalanceService(payments.BalanceFunc(func(context.Context, payments.Entry) error { return nil })))
	_, err := h.svc.HandleWebhook(ctx, "fake", h.fake.Request(charge("e1", "p1", "alice", "10.00"), time.Now()))
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{attrs(otelpay.OutcomeKey.String("applied")): 1},
		counts(t, h.metric(t, "payments.sync.attempts")))
	hist, ok := h.metric(t, "payments.sync.delay").(metricdata.Histogram[float64])
	require.True(t, ok)
	require.Len(t, hist.DataPoints, 1)
	assert.Equal(t, uint64(1), hist.DataPoints[0].Count)
}

func TestBacklogGauges(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t)
	reg, err := h.obs.RegisterBacklog(h.svc)
	require.NoError(t, err)
	defer func() { assert.NoError(t, reg.Unregister()) }()
	refund := gatewaytest.Event{ID: "e9", Type: "refund.succeeded", PaymentID: "p9", RefundID: "r9", Amount: "1.00", Currency: "USD"}
	res, err := h.svc.HandleWebhook(ctx, "fake", h.fake.Request(refund, time.Now()))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeParked, res.Notification.Outcome)

	parked, ok := h.metric(t, "payments.parked").(metricdata.Gauge[int64])
	require.True(t, ok)
	require.Len(t, parked.DataPoints, 1)
	assert.Equal(t, int64(1), parked.DataPoints[0].Value)

	// Without a BalanceService the entry waits in the outbox: it lags.
	_, err = h.svc.HandleWebhook(ctx, "fake", h.fake.Request(charge("e1", "p1", "alice", "10.00"), time.Now()))
	require.NoError(t, err)
	time.Sleep(10 * time.Millisecond)
	lag, ok := h.metric(t, "payments.sync.lag").(metricdata.Gauge[float64])
	require.True(t, ok)
	require.Len(t, lag.DataPoints, 1)
	assert.GreaterOrEqual(t, lag.DataPoints[0].Value, 0.01)
}

func TestPostbackAttemptsAndDifferences(t *testing.T) {
	ctx := t.Context()
	h := newHarness(t)
	h.obs.PostbackAttempt(ctx, payments.PostbackObservation{EndpointID: "ep_1", Attempt: 1, Status: 200,
		Latency: 30 * time.Millisecond, State: payments.DeliveryDelivered})
	h.obs.PostbackAttempt(ctx, payments.PostbackObservation{EndpointID: "ep_1", Attempt: 1, Error: "connection refused",
		State: payments.DeliveryPending})
	h.obs.PostbackAttempt(ctx, payments.PostbackObservation{EndpointID: "ep_1", Attempt: 8, Status: 503,
		State: payments.DeliveryFailed})
	assert.Equal(t, map[string]int64{
		attrs(otelpay.OutcomeKey.String("delivered"), attribute.Int("http.response.status_code", 200)): 1,
		attrs(otelpay.OutcomeKey.String("failed")):                                                     1,
		attrs(otelpay.OutcomeKey.String("exhausted"), attribute.Int("http.response.status_code", 503)): 1,
	}, counts(t, h.metric(t, "payments.postback.attempts")))

	h.obs.ReconcileDifference(ctx, payments.ReconcileObservation{Gateway: "stripe", Kind: string(payments.DifferenceAmount)})
	assert.Equal(t, map[string]int64{
		attrs(otelpay.GatewayKey.String("stripe"), otelpay.DifferenceKindKey.String(string(payments.DifferenceAmount))): 1,
	}, counts(t, h.metric(t, "payments.reconcile.differences")))
}

// With no provider installed, the global ones are no-ops: everything works
// and nothing is recorded.
func TestWithoutProviderNothingBreaks(t *testing.T) {
	ctx := t.Context()
	obs, err := otelpay.New(otelpay.Options{})
	require.NoError(t, err)
	fake := gatewaytest.NewFake("k")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithObserver(obs),
		payments.WithBalanceService(payments.BalanceFunc(func(context.Context, payments.Entry) error { return errors.New("down") })))
	require.NoError(t, err)
	reg, err := obs.RegisterBacklog(svc)
	require.NoError(t, err)
	defer func() { assert.NoError(t, reg.Unregister()) }()
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "alice", "10.00"), time.Now()))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	bad := fake.Request(charge("e2", "p2", "alice", "1.00"), time.Now())
	bad.Body[len(bad.Body)-3] ^= 1
	_, err = svc.HandleWebhook(ctx, "fake", bad)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	obs.PostbackAttempt(ctx, payments.PostbackObservation{State: payments.DeliveryDelivered, Status: 200})
	obs.ReconcileDifference(ctx, payments.ReconcileObservation{Gateway: "fake", Kind: string(payments.DifferenceAmount)})
}

// BenchmarkHandleWebhook measures ingestion observed by otelpay: over the
// global no-op providers, as a host without OpenTelemetry has them, and
// over the SDK's, recording.
func BenchmarkHandleWebhook(b *testing.B) {
	b.Run("noop", func(b *testing.B) {
		obs, err := otelpay.New(otelpay.Options{})
		require.NoError(b, err)
		benchmarkWebhooks(b, obs)
	})
	b.Run("sdk", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
		b.Cleanup(func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) })
		obs, err := otelpay.New(otelpay.Options{MeterProvider: mp, TracerProvider: tp})
		require.NoError(b, err)
		benchmarkWebhooks(b, obs)
	})
}

func benchmarkWebhooks(b *testing.B, obs *otelpay.Observer) {
	fake := gatewaytest.NewFake("whsec_bench")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithObserver(obs))
	require.NoError(b, err)
	now := time.Now()
	reqs := make([]*payments.WebhookRequest, b.N)
	for i := range reqs {
		id := fmt.Sprint(i)
		reqs[i] = fake.Request(charge("evt_"+id, "pi_"+id, fmt.Sprint("acct_", i%100), "10.00"), now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.HandleWebhook(b.Context(), "fake", reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
