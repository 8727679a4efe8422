// Package otelpay reports a payments.Service's work to OpenTelemetry: it is a
// payments.Observer that records metrics through a MeterProvider and spans
// through a TracerProvider, the global ones unless Options names others. With
// no provider installed the global ones are no-ops, and so is this package.
//
//	obs, err := otelpay.New(otelpay.Options{})
//	svc, err := payments.New(store, payments.WithObserver(obs), ...)
//	reg, err := obs.RegisterBacklog(svc) // the observable gauges
//	defer reg.Unregister()
//
// Metrics (durations in seconds, units as the semantic conventions write them):
//
//	name                            instrument                 unit            attributes
//	payments.webhooks               Int64Counter               {notification}  payments.gateway, payments.outcome, payments.source, error.type
//	payments.webhook.duration       Float64Histogram           s               as payments.webhooks
//	payments.sync.attempts          Int64Counter               {attempt}       payments.outcome (applied, failed, parked), error.type
//	payments.sync.delay             Float64Histogram           s               none: recording to the start of the attempt that applied it, per entry
//	payments.sync.lag               Float64ObservableGauge     s               none: age of the oldest entry not yet applied
//	payments.parked                 Int64ObservableGauge       {notification}  none: unresolved parked notifications, counted up to 1000
//	payments.postback.attempts      Int64Counter               {attempt}       payments.outcome (delivered, failed, exhausted), http.response.status_code
//	payments.postback.duration      Float64Histogram           s               as payments.postback.attempts
//	payments.reconcile.differences  Int64Counter               {difference}    payments.gateway, payments.difference.kind
//
// payments.outcome of a webhook is the journal's Outcome (recorded,
// duplicate, ignored, rejected, parked, failed); payments.source is webhook,
// replay (Replay and Attribute) or record (Service.Record). A sync attempt
// that failed is "failed" when it will be retried and "parked" when it will
// not; a postback attempt that failed is "failed" when it will be retried
// and "exhausted" when the delivery gave up. error.type is
// payments.ErrorClass of the error ("_OTHER" for "other"), absent on success.
// The gauges are read from Service.Backlog at each collection, and only
// once RegisterBacklog is called.
//
// Spans, both of kind internal:
//
//   - payments.webhook, around the handling of each notification, with
//     payments.gateway, payments.notification.id, payments.source,
//     payments.event.type, payments.outcome and http.response.status_code
//     (the reply to the gateway). The Store's and the driver's calls, and the
//     first Apply of what it records, run under it. An error is recorded as
//     an event; the status is Error only for a failed outcome, since a
//     rejected notification is the sender's fault, not the Service's.
//   - payments.sync, around each attempt at applying an entry to the
//     BalanceService (the host's Apply runs under it), with
//     payments.entry.id, payments.gateway, payments.sync.attempt and
//     payments.outcome; status Error when Apply failed.
package otelpay

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/payrail/payments"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/payrail/payments/otelpay"

// Attribute keys this package records, beside the semantic conventions'
// error.type and http.response.status_code.
const (
	GatewayKey        = attribute.Key("payments.gateway")
	OutcomeKey        = attribute.Key("payments.outcome")
	SourceKey         = attribute.Key("payments.source")
	EventTypeKey      = attribute.Key("payments.event.type")
	NotificationIDKey = attribute.Key("payments.notification.id")
	EntryIDKey        = attribute.Key("payments.entry.id")
	SyncAttemptKey    = attribute.Key("payments.sync.attempt")
	DifferenceKindKey = attribute.Key("payments.difference.kind")
)

// Options name the providers; nil fields take the global ones at New (see
// otel.SetMeterProvider, otel.SetTracerProvider), which delegate to
// whatever the host installs later.
type Options struct {
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
}

// Observer is a payments.Observer that reports to OpenTelemetry. Construct it
// with New; it is safe for concurrent use.
type Observer struct {
	tracer trace.Tracer
	meter  metric.Meter

	webhooks         metric.Int64Counter
	webhookDuration  metric.Float64Histogram
	syncAttempts     metric.Int64Counter
	syncDelay        metric.Float64Histogram
	syncLag          metric.Float64ObservableGauge
	parked           metric.Int64ObservableGauge
	postbackAttempts metric.Int64Counter
	postbackDuration metric.Float64Histogram
	differences      metric.Int64Counter

	// attrs caches the attribute sets of webhook measurements by their
	// values, which take few distinct values (gateways × outcomes ×
	// sources × error classes): building a set costs allocations on
	// every notification.
	attrs sync.Map // webhookAttrs → metric.MeasurementOption
}

var _ payments.Observer = (*Observer)(nil)

// latencyBuckets are the semantic conventions' bounds for HTTP durations,
// which a webhook's handling and a postback's round trip are.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// delayBuckets span what an entry may wait for the host: from an immediate
// apply to the day the sync outbox retries for by default.
var delayBuckets = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}

// New creates the instruments and returns the Observer.
func New(opts Options) (*Observer, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	o := &Observer{
		meter:  mp.Meter(ScopeName, metric.WithSchemaURL(semconv.SchemaURL)),
		tracer: tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
	}
	var errs []error
	check := func(err error) { errs = append(errs, err) }
	m := o.meter
	var err error
	o.webhooks, err = m.Int64Counter("payments.webhooks", metric.WithUnit("{notification}"),
		metric.WithDescription("Notifications handled, by what the ledger made of them."))
	check(err)
	o.webhookDuration, err = m.Float64Histogram("payments.webhook.duration", metric.WithUnit("s"),
		metric.WithDescription("Time to verify, record and journal a notification."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...))
	check(err)
	o.syncAttempts, err = m.Int64Counter("payments.sync.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Calls to the host's BalanceService."))
	check(err)
	o.syncDelay, err = m.Float64Histogram("payments.sync.delay", metric.WithUnit("s"),
		metric.WithDescription("Time from an entry's recording to the start of the sync attempt that applied it."),
		metric.WithExplicitBucketBoundaries(delayBuckets...))
	check(err)
	o.syncLag, err = m.Float64ObservableGauge("payments.sync.lag", metric.WithUnit("s"),
		metric.WithDescription("Age of the oldest entry the BalanceService has not yet applied."))
	check(err)
	o.parked, err = m.Int64ObservableGauge("payments.parked", metric.WithUnit("{notification}"),
		metric.WithDescription("Parked notifications waiting for the host to attribute them, counted up to 1000."))
	check(err)
	o.postbackAttempts, err = m.Int64Counter("payments.postback.attempts", metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts at delivering a postback."))
	check(err)
	o.postbackDuration, err = m.Float64Histogram("payments.postback.duration", metric.WithUnit("s"),
		metric.WithDescription("Round trip of a postback attempt."),
		metric.WithExplicitBucketBoundaries(latencyBuckets...))
	check(err)
	o.differences, err = m.Int64Counter("payments.reconcile.differences", metric.WithUnit("{difference}"),
		metric.WithDescription("Differences a reconciliation found between a gateway and the ledger."))
	check(err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return o, nil
}

// BacklogSource is what RegisterBacklog samples; *payments.Service is one.
type BacklogSource interface {
	Backlog(ctx context.Context) (payments.Backlog, error)
}

// RegisterBacklog has the payments.parked and payments.sync.lag gauges read
// src at each collection; Unregister the result to stop. It is separate
// from New because the Service it reads is built with the Observer. Each
// collection costs src two bounded listings of its Store.
func (o *Observer) RegisterBacklog(src BacklogSource) (metric.Registration, error) {
	return o.meter.RegisterCallback(func(ctx context.Context, obs metric.Observer) error {
		b, err := src.Backlog(ctx)
		if err != nil {
			return err
		}
		obs.ObserveInt64(o.parked, int64(b.Parked))
		obs.ObserveFloat64(o.syncLag, b.SyncLag.Seconds())
		return nil
	}, o.parked, o.syncLag)
}

// webhookAttrs keys the cache of webhook measurement attributes.
type webhookAttrs struct {
	gateway, outcome, source, errorType string
}

// Webhook starts a payments.webhook span; its end records the metrics.
func (o *Observer) Webhook(ctx context.Context, w payments.WebhookObservation) (context.Context, func(payments.WebhookObservation)) {
	ctx, span := o.tracer.Start(ctx, "payments.webhook", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(GatewayKey.String(w.Gateway), NotificationIDKey.String(w.NotificationID),
			SourceKey.String(source(w))))
	return ctx, func(w payments.WebhookObservation) {
		errType := errorType(w.Err)
		key := webhookAttrs{gateway: w.Gateway, outcome: string(w.Outcome), source: source(w), errorType: errType}
		attrs := o.webhookAttrs(key)
		o.webhooks.Add(ctx, 1, attrs)
		o.webhookDuration.Record(ctx, w.Duration.Seconds(), attrs)
		if !span.IsRecording() {
			span.End()
			return
		}
		span.SetAttributes(OutcomeKey.String(string(w.Outcome)), EventTypeKey.String(w.EventType),
			semconv.HTTPResponseStatusCodeKey.Int(w.Status))
		if w.Err != nil {
			span.SetAttributes(semconv.ErrorTypeKey.String(errType))
			span.RecordError(w.Err)
		}
		if w.Outcome == payments.OutcomeFailed {
			span.SetStatus(codes.Error, http.StatusText(w.Status))
		}
		span.End()
	}
}

// webhookAttrs returns the measurement option of k's attributes, built once.
func (o *Observer) webhookAttrs(k webhookAttrs) metric.MeasurementOption {
	if opt, ok := o.attrs.Load(k); ok {
		return opt.(metric.MeasurementOption)
	}
	kv := []attribute.KeyValue{GatewayKey.String(k.gateway), OutcomeKey.String(k.outcome), SourceKey.String(k.source)}
	if k.errorType != "" {
		kv = append(kv, semconv.ErrorTypeKey.String(k.errorType))
	}
	opt, _ := o.attrs.LoadOrStore(k, metric.WithAttributeSet(attribute.NewSet(kv...)))
	return opt.(metric.MeasurementOption)
}

// SyncAttempt starts a payments.sync span; its end records the metrics.
func (o *Observer) SyncAttempt(ctx context.Context, a payments.SyncObservation) (context.Context, func(payments.SyncObservation)) {
	ctx, span := o.tracer.Start(ctx, "payments.sync", trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(EntryIDKey.String(a.Entry.ID), GatewayKey.String(a.Entry.Gateway),
			SyncAttemptKey.Int(a.Attempt)))
	return ctx, func(a payments.SyncObservation) {
		outcome := syncOutcome(a.State)
		kv := []attribute.KeyValue{OutcomeKey.String(outcome)}
		if a.Err != nil {
			kv = append(kv, semconv.ErrorTypeKey.String(errorType(a.Err)))
		}
		o.syncAttempts.Add(ctx, 1, metric.WithAttributes(kv...))
		if a.State == payments.SyncDone {
			o.syncDelay.Record(ctx, a.Lag.Seconds())
		}
		span.SetAttributes(kv...)
		if a.Err != nil {
			span.RecordError(a.Err)
			span.SetStatus(codes.Error, "apply failed")
		}
		span.End()
	}
}

// PostbackAttempt records one attempt's metrics.
func (o *Observer) PostbackAttempt(ctx context.Context, p payments.PostbackObservation) {
	kv := []attribute.KeyValue{OutcomeKey.String(postbackOutcome(p.State))}
	if p.Status != 0 {
		kv = append(kv, semconv.HTTPResponseStatusCodeKey.Int(p.Status))
	}
	attrs := metric.WithAttributes(kv...)
	o.postbackAttempts.Add(ctx, 1, attrs)
	o.postbackDuration.Record(ctx, p.Latency.Seconds(), attrs)
}

// ReconcileDifference counts one difference.
func (o *Observer) ReconcileDifference(ctx context.Context, d payments.ReconcileObservation) {
	o.differences.Add(ctx, 1, metric.WithAttributes(GatewayKey.String(d.Gateway), DifferenceKindKey.String(d.Kind)))
}

// source names where a notification came from, for payments.source.
func source(w payments.WebhookObservation) string {
	switch {
	case w.Replay:
		return "replay"
	case w.Source == payments.SourceRecord:
		return "record"
	}
	return "webhook"
}

// errorType is error.type: the semantic conventions want "_OTHER" for an
// error of no known class.
func errorType(err error) string {
	c := payments.ErrorClass(err)
	if c == "other" {
		return "_OTHER"
	}
	return c
}

func syncOutcome(s payments.SyncState) string {
	switch s {
	case payments.SyncDone:
		return "applied"
	case payments.SyncParked:
		return "parked"
	}
	return "failed"
}

func postbackOutcome(s payments.DeliveryState) string {
	switch s {
	case payments.DeliveryDelivered:
		return "delivered"
	case payments.DeliveryFailed:
		return "exhausted"
	}
	return "failed"
}
