package stripe_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
)

// failingStore fails every commit, as a database that is down does.
type failingStore struct{ *memory.Store }

func (failingStore) Commit(context.Context, *payments.Batch) (*payments.BatchResult, error) {
	return nil, errors.New("stripe_test: the store is down")
}

// TestRepliesToRejections: an event that verified but that the ledger
// rejects for good is acknowledged, so that Stripe does not resend it for
// three days; one that did not verify is still 401, and a Store failure
// still 500, so that Stripe retries what may yet be recorded.
func TestRepliesToRejections(t *testing.T) {
	ok := payments.WebhookReply{Status: http.StatusOK, ContentType: "application/json", Body: []byte(`{"outcome":"rejected"}` + "\n")}
	otherVersion := edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) { ev["api_version"] = "2022-11-15" })
	charge := func(minor int64) []byte {
		return edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) { object(ev)["amount_received"] = minor })
	}
	tests := []struct {
		name    string
		store   payments.Store
		before  []*payments.WebhookRequest
		req     *payments.WebhookRequest
		outcome payments.Outcome
		want    payments.WebhookReply
		status  int // when want is zero: the Service's own reply
	}{
		{name: "another API version", req: signed(otherVersion, testSecret, time.Now()),
			outcome: payments.OutcomeRejected, want: ok},
		{name: "signed, not an event", req: signed([]byte(`{"id":"evt_1"}`), testSecret, time.Now()),
			outcome: payments.OutcomeRejected, want: ok},
		{name: "contradicts the ledger", before: []*payments.WebhookRequest{signed(charge(2500), testSecret, time.Now())},
			req: signed(charge(1000), testSecret, time.Now()), outcome: payments.OutcomeRejected, want: ok},
		{name: "wrong secret", req: signed(otherVersion, otherSecret, time.Now()),
			outcome: payments.OutcomeRejected, status: http.StatusUnauthorized},
		{name: "stale", req: signed(charge(2500), testSecret, time.Now().Add(-time.Hour)),
			outcome: payments.OutcomeRejected, status: http.StatusUnauthorized},
		{name: "store down", store: failingStore{memory.New()}, req: event(t, "payment_intent.succeeded"),
			outcome: payments.OutcomeFailed, status: http.StatusInternalServerError},
		{name: "recorded", req: event(t, "payment_intent.succeeded"),
			outcome: payments.OutcomeRecorded, status: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := tt.store
			if store == nil {
				store = memory.New()
			}
			svc, err := payments.New(store, payments.WithGateway(newGateway(t)))
			require.NoError(t, err)
			for _, r := range tt.before {
				_, err := svc.HandleWebhook(t.Context(), "stripe", r)
				require.NoError(t, err)
			}
			res, _ := svc.HandleWebhook(t.Context(), "stripe", tt.req)
			require.NotNil(t, res)
			assert.Equal(t, tt.outcome, res.Notification.Outcome, res.Notification.Detail)
			if tt.want.Status != 0 {
				assert.True(t, res.Notification.Verified)
				assert.Equal(t, tt.want, res.Reply)
				return
			}
			assert.Equal(t, tt.status, res.Reply.Status, "%q", res.Reply.Body)
		})
	}
}
