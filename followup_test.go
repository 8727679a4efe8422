package payments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// acknowledging must tell its gateway what is durable, as Google Play's
// driver acknowledges purchases; the first acknowledgement fails.
type acknowledging struct {
	*gatewaytest.Fake
	failures int
	acked    []int // entries recorded by the commit each call followed
}

func (a *acknowledging) AfterCommit(ctx context.Context, c *payments.Changes, res *payments.BatchResult) error {
	a.acked = append(a.acked, len(res.Entries)+len(res.Duplicates))
	if a.failures > 0 {
		a.failures--
		return errors.New("acknowledge: 503 from the gateway")
	}
	return nil
}

func TestAfterCommitFailureIsRetriedByRedelivery(t *testing.T) {
	ctx := t.Context()
	g := &acknowledging{Fake: gatewaytest.NewFake("k"), failures: 1}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	req := g.Request(charge("e1", "p1", "a", "3.00"), time.Now())

	res, err := svc.HandleWebhook(ctx, "fake", cloneReq(req))
	require.Error(t, err, "recorded, but the gateway must deliver again")
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, "the journal says what the ledger did")
	assert.Equal(t, 500, res.Reply.Status)

	res, err = svc.HandleWebhook(ctx, "fake", cloneReq(req))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
	assert.Equal(t, 200, res.Reply.Status)
	assert.Equal(t, []int{1, 1}, g.acked, "the redelivery, a duplicate, follows up again")
	bal, err := svc.Balance(ctx, "a", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(300), bal.Money.Amount, "recorded once")
}

func cloneReq(r *payments.WebhookRequest) *payments.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = append([]byte(nil), r.Body...)
	return &c
}

// asking reports a notification that records nothing but that the host
// must answer.
type asking struct{ bareGateway }

func (asking) Name() string { return "asking" }
func (asking) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return &payments.Changes{EventID: "q1", EventType: "CONSUMPTION_REQUEST", Notice: true}, nil
}

func TestNoticeIsJournaledAndPublished(t *testing.T) {
	ctx := t.Context()
	svc, err := payments.New(memory.New(), payments.WithGateway(asking{}))
	require.NoError(t, err)
	events := svc.Subscribe(ctx, 4)
	res, err := svc.HandleWebhook(ctx, "asking", &payments.WebhookRequest{Body: []byte(`{"q":1}`)})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeIgnored, res.Notification.Outcome, "nothing for the ledger")
	select {
	case ev := <-events:
		assert.Equal(t, payments.EventNotice, ev.Type)
		require.NotNil(t, ev.Notification)
		assert.Equal(t, res.Notification.ID, ev.Notification.ID)
		assert.Equal(t, "CONSUMPTION_REQUEST", ev.Notification.EventType)
	case <-time.After(time.Second):
		t.Fatal("no notice published")
	}
}
