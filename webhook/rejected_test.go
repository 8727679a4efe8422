package webhook_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

// acknowledging is a gateway whose replier acknowledges what verified and
// was rejected for good, as the Stripe driver does, with a body of its own.
type acknowledging struct{ plain }

func (a acknowledging) Name() string { return "acknowledging" }
func (a acknowledging) WebhookReply(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	if n := res.Notification; n.Outcome == payments.OutcomeRejected && n.Verified {
		return payments.WebhookReply{Status: http.StatusOK, ContentType: "text/plain", Body: []byte("ack rejected\n")}
	}
	return res.Reply
}

// newRejectingServer serves the Fake (a replier that refuses rejections),
// plain (no replier) and acknowledging over store, with opts.
func newRejectingServer(t *testing.T, store payments.Store, opts ...webhook.Option) *server {
	t.Helper()
	fake := gatewaytest.NewFake("whsec_http")
	svc, err := payments.New(store, payments.WithGateway(fake,
		plain{gatewaytest.NewFake("whsec_http", gatewaytest.WithName("plain"))},
		acknowledging{plain{gatewaytest.NewFake("whsec_http", gatewaytest.WithName("acknowledging"))}}))
	require.NoError(t, err)
	mux := http.NewServeMux()
	webhook.Mount(mux, svc, opts...)
	return &server{Server: newHTTPServer(t, mux), fake: fake, store: store}
}

// TestRejectedReply sends, to each kind of driver under each setting, a
// notification that verified but cannot be understood (400), one that
// contradicts the ledger (409), one that does not verify (401) and one
// that records (200), and checks what each is answered and that each
// rejection is journaled as verified whatever it was answered.
func TestRejectedReply(t *testing.T) {
	const (
		refused = "refused" // the Service's 400 or 409
		driver  = "driver"  // the driver's acknowledgement
		service = "service" // the Service's 200 {"outcome":"rejected"}
	)
	settings := []struct {
		name string
		opts []webhook.Option
		// want is what each gateway answers a verified rejection.
		want map[string]string
	}{
		{"default: by driver", nil,
			map[string]string{"fake": refused, "plain": refused, "acknowledging": driver}},
		{"by driver, explicitly", []webhook.Option{webhook.WithRejectedReply(webhook.RejectedByDriver)},
			map[string]string{"fake": refused, "plain": refused, "acknowledging": driver}},
		{"refuse", []webhook.Option{webhook.WithRejectedReply(webhook.RejectedRefuse)},
			map[string]string{"fake": refused, "plain": refused, "acknowledging": refused}},
		{"acknowledge", []webhook.Option{webhook.WithRejectedReply(webhook.RejectedAcknowledge)},
			map[string]string{"fake": driver, "plain": service, "acknowledging": driver}},
	}
	for _, setting := range settings {
		t.Run(setting.name, func(t *testing.T) {
			s := newRejectingServer(t, memory.New(), setting.opts...)
			now := time.Now()
			for _, gw := range []string{"fake", "plain", "acknowledging"} {
				path := "/" + gw + "-handleWebhookEvents"
				id := func(n int) string { return fmt.Sprintf("%s-%d", gw, n) }
				// Recorded, whatever the setting.
				got := s.send(t, path, s.fake.Request(event(id(1), "payment.succeeded", "a", "1.00"), now))
				assert.Equal(t, http.StatusOK, got.code, "%s: recorded", gw)

				garbled := []byte("<xml/>")
				unreadable := &payments.WebhookRequest{Header: s.fake.Sign(garbled, now), Body: garbled}
				conflict := s.fake.Request(gatewaytest.Event{ID: id(2), Type: "payment.succeeded", PaymentID: "p-" + id(1),
					Account: "a", Amount: "0.50", Currency: "USD"}, now)
				for _, rejected := range []struct {
					req     *payments.WebhookRequest
					status  int
					eventID string
				}{{unreadable, http.StatusBadRequest, ""}, {conflict, http.StatusConflict, id(2)}} {
					got := s.send(t, path, rejected.req)
					switch setting.want[gw] {
					case refused:
						assert.Equal(t, rejected.status, got.code, "%s %d: %q", gw, rejected.status, got.body)
					case driver:
						assert.Equal(t, http.StatusOK, got.code, "%s %d", gw, rejected.status)
						want := "ack rejected\n"
						if gw == "fake" {
							want = "ok " + rejected.eventID // the Fake's acknowledgement names the event
						}
						assert.Equal(t, want, got.body, "%s %d", gw, rejected.status)
					case service:
						assert.Equal(t, reply{http.StatusOK, jsonType, `{"outcome":"rejected"}` + "\n"}, got, "%s %d", gw, rejected.status)
					}
				}
				// Not verified: 401, whatever the setting and the driver.
				forged := gatewaytest.NewFake("other").Request(event(id(3), "payment.succeeded", "a", "1.00"), now)
				assert.Equal(t, http.StatusUnauthorized, s.send(t, path, forged).code, "%s: forged", gw)
			}

			rejected, _, err := s.store.Notifications(t.Context(), payments.NotificationFilter{Outcome: payments.OutcomeRejected})
			require.NoError(t, err)
			verified := 0
			for _, n := range rejected {
				if n.Verified {
					verified++
				}
			}
			assert.Len(t, rejected, 9, "three rejections for each gateway, journaled whatever they were answered")
			assert.Equal(t, 6, verified, "the unreadable body and the conflict verified; the forged one did not")
			bal, err := s.store.Balance(t.Context(), "a", "USD")
			require.NoError(t, err)
			assert.Equal(t, int64(300), bal.Money.Amount, "one charge of 1.00 a gateway; no rejection booked anything")
		})
	}
}

// TestRejectedReplyNeverAcknowledgesFailures: a Store failure is 500 under
// every setting, so that the gateway retries it.
func TestRejectedReplyNeverAcknowledgesFailures(t *testing.T) {
	for _, r := range []webhook.RejectedReply{webhook.RejectedByDriver, webhook.RejectedRefuse, webhook.RejectedAcknowledge} {
		s := newRejectingServer(t, brokenStore{memory.New()}, webhook.WithRejectedReply(r))
		for _, gw := range []string{"fake", "plain", "acknowledging"} {
			code, body := s.post(t, "/"+gw+"-handleWebhookEvents", s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), time.Now()))
			assert.Equal(t, http.StatusInternalServerError, code, "setting %d, %s: %q", r, gw, body)
		}
	}
}
