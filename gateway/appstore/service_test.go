package appstore_test

import (
	"context"
	"crypto/elliptic"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/store/memory"
)

// serviceWorld is a Service over a memory store with a Production
// Gateway, and a signer of the tests' chain.
type serviceWorld struct {
	t     *testing.T
	store payments.Store
	svc   *payments.Service
	g     *appstore.Gateway
	s     *signer
}

func newServiceWorld(t *testing.T, mutate ...func(*appstore.Config)) *serviceWorld {
	w := &serviceWorld{t: t, store: memory.New(), s: newSigner(t, appstore.Production)}
	w.g = newGateway(t, mutate...)
	var err error
	w.svc, err = payments.New(w.store, payments.WithGateway(w.g))
	require.NoError(t, err)
	return w
}

func (w *serviceWorld) deliver(req *payments.WebhookRequest, want payments.Outcome) *payments.WebhookResult {
	w.t.Helper()
	res, err := w.svc.HandleWebhook(context.Background(), w.g.Name(), req)
	require.NoError(w.t, err)
	require.Equal(w.t, want, res.Notification.Outcome, res.Notification.Detail)
	return res
}

func (w *serviceWorld) balance(account string, currency payments.Currency) int64 {
	w.t.Helper()
	b, err := w.svc.Balance(context.Background(), account, currency)
	require.NoError(w.t, err)
	return b.Money.Amount
}

// TestSubscriptionRenewalsAtChangedPrices: each renewal is a payment of its
// own, so a price change or a storefront in another currency records
// money, never parks it as not matching an earlier payment.
func TestSubscriptionRenewalsAtChangedPrices(t *testing.T) {
	w := newServiceWorld(t)
	token := newUUID(t)
	original := newTransactionID()
	at := time.Now().Add(-60 * 24 * time.Hour)
	for i, p := range []struct {
		typ, subtype string
		price        int64
		currency     string
	}{
		{"SUBSCRIBED", "INITIAL_BUY", 9990, "USD"},
		{"DID_RENEW", "", 12990, "USD"},
		{"DID_RENEW", "", 11990, "EUR"},
		{"DID_RENEW", "", 1490000, "JPY"},
	} {
		id := original
		if i > 0 {
			id = newTransactionID()
		}
		tx := w.s.transaction(id, at.Add(time.Duration(i)*30*24*time.Hour), map[string]any{
			"originalTransactionId": original, "type": "Auto-Renewable Subscription", "appAccountToken": token,
			"price": p.price, "currency": p.currency})
		w.deliver(w.s.request(w.s.notification(p.typ, p.subtype, time.Now(), tx, nil)), payments.OutcomeRecorded)
	}
	assert.Equal(t, int64(999+1299), w.balance(token, "USD"))
	assert.Equal(t, int64(1199), w.balance(token, "EUR"))
	assert.Equal(t, int64(1490), w.balance(token, "JPY"))
	parked, _, err := w.svc.Notifications(t.Context(), payments.NotificationFilter{Outcome: payments.OutcomeParked})
	require.NoError(t, err)
	assert.Empty(t, parked)
}

// TestRefunds: a refund after its charge, a refund of a purchase the
// ledger never saw (parked without an account, then attributed), and a
// prorated refund reversed with the amount read back from the ledger.
func TestRefunds(t *testing.T) {
	t.Run("after the charge", func(t *testing.T) {
		w := newServiceWorld(t)
		token, id := newUUID(t), newTransactionID()
		tx := w.s.transaction(id, time.Now(), map[string]any{"appAccountToken": token})
		w.deliver(w.s.request(w.s.notification("ONE_TIME_CHARGE", "", time.Now(), tx, nil)), payments.OutcomeRecorded)
		tx["revocationDate"], tx["revocationReason"] = time.Now().UnixMilli(), 0
		res := w.deliver(w.s.request(w.s.notification("REFUND", "", time.Now(), tx, nil)), payments.OutcomeRecorded)
		assert.Len(t, res.Recorded.Entries, 1, "the refund; the charge is a duplicate")
		assert.Len(t, res.Recorded.Duplicates, 1)
		assert.Zero(t, w.balance(token, "USD"))
		p, err := w.store.PaymentByGatewayID(t.Context(), w.g.Name(), id)
		require.NoError(t, err)
		assert.Equal(t, payments.StatusRefunded, p.Status)
	})

	t.Run("of a purchase never seen, parked until attributed", func(t *testing.T) {
		w := newServiceWorld(t)
		tx := w.s.transaction(newTransactionID(), time.Now(), map[string]any{"appAccountToken": nil,
			"revocationDate": time.Now().UnixMilli(), "revocationType": "REFUND_PRORATED", "revocationPercentage": 25000})
		parked := w.deliver(w.s.request(w.s.notification("REFUND", "", time.Now(), tx, nil)), payments.OutcomeParked)
		res, err := w.svc.Attribute(t.Context(), parked.Notification.ID, payments.Attribution{Account: "user-42"})
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
		assert.Equal(t, int64(1099-275), w.balance("user-42", "USD"), "charged 10.99, a quarter refunded")
	})

	t.Run("prorated, then reversed by the amount in the ledger", func(t *testing.T) {
		store := memory.New()
		// What a host that takes prorated refunds puts in
		// Config.RefundedAmount: the refund entry of the transaction.
		refunded := func(ctx context.Context, id string) (payments.Money, error) {
			p, err := store.PaymentByGatewayID(ctx, appstore.DefaultName, id)
			if err != nil {
				return payments.Money{}, err
			}
			page, _, err := store.Entries(ctx, payments.EntryFilter{PaymentID: p.ID})
			if err != nil {
				return payments.Money{}, err
			}
			for _, e := range page {
				if e.Kind == payments.KindRefund {
					return payments.Money{Amount: -e.Amount.Amount, Currency: e.Amount.Currency}, nil
				}
			}
			return payments.Money{}, errors.New("no refund recorded yet")
		}
		w := &serviceWorld{t: t, store: store, s: newSigner(t, appstore.Production),
			g: newGateway(t, func(c *appstore.Config) { c.RefundedAmount = refunded })}
		var err error
		w.svc, err = payments.New(store, payments.WithGateway(w.g))
		require.NoError(t, err)

		token, id := newUUID(t), newTransactionID()
		tx := w.s.transaction(id, time.Now(), map[string]any{"appAccountToken": token})
		reversed := w.s.request(w.s.notification("REFUND_REVERSED", "", time.Now(), tx, nil))
		res, err := w.svc.HandleWebhook(t.Context(), w.g.Name(), reversed)
		require.Error(t, err, "a reversal before its refund fails, and Apple retries it")
		assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)

		refund := w.s.transaction(id, time.Now(), map[string]any{"appAccountToken": token,
			"revocationDate": time.Now().UnixMilli(), "revocationType": "REFUND_PRORATED", "revocationPercentage": 60000})
		w.deliver(w.s.request(w.s.notification("REFUND", "", time.Now(), refund, nil)), payments.OutcomeRecorded)
		assert.Equal(t, int64(1099-659), w.balance(token, "USD"))
		w.deliver(reversed, payments.OutcomeRecorded)
		assert.Equal(t, int64(1099), w.balance(token, "USD"), "the reversal gives back what was refunded")
		w.deliver(reversed, payments.OutcomeDuplicate)
	})
}

// TestNotices: what the host must answer is journaled, recorded as
// nothing, and published as an EventNotice whose body decodes again.
func TestNotices(t *testing.T) {
	w := newServiceWorld(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := w.svc.Subscribe(ctx, 8)
	id := newTransactionID()
	tx := w.s.transaction(id, time.Now(), nil)
	for _, typ := range []string{"CONSUMPTION_REQUEST", "REFUND_DECLINED", "EXPIRED"} {
		w.deliver(w.s.request(w.s.notification(typ, "", time.Now(), tx, map[string]any{"consumptionRequestReason": "UNINTENDED_PURCHASE"})), payments.OutcomeIgnored)
		select {
		case ev := <-events:
			require.Equal(t, payments.EventNotice, ev.Type)
			require.NotNil(t, ev.Notification)
			assert.Equal(t, typ, ev.Notification.EventType)
			n, err := w.g.DecodeNotification(ev.Notification.Body)
			require.NoError(t, err)
			assert.Equal(t, typ, string(n.NotificationType))
			assert.Equal(t, id, n.Transaction.TransactionID)
			assert.Equal(t, "UNINTENDED_PURCHASE", n.Data.ConsumptionRequestReason)
		case <-time.After(5 * time.Second):
			t.Fatalf("no notice for %s", typ)
		}
	}
	w.deliver(w.s.request(w.s.notification("TEST", "", time.Now(), nil, nil)), payments.OutcomeIgnored)
	select {
	case ev := <-events:
		t.Fatalf("TEST published %s", ev.Type)
	default:
	}
}

// TestReplayAfterTheLeafExpired: a notification journaled while its
// signing certificate was valid verifies again when the host replays it
// after the certificate expired, since validity is checked at signedDate.
func TestReplayAfterTheLeafExpired(t *testing.T) {
	signedAt := time.Now().Add(-30 * 24 * time.Hour)
	leaf := mintLeaf(t, elliptic.P256(), true, signedAt.Add(-time.Hour), signedAt.Add(time.Hour))
	w := newServiceWorld(t, func(c *appstore.Config) {
		c.AccountForToken = func(context.Context, string) (string, error) { return "", nil }
	})
	s := &signer{t: t, chain: leaf, env: appstore.Production}
	tx := s.transaction(newTransactionID(), signedAt, nil)
	req := bodyRequest(mustJSON(t, map[string]string{"signedPayload": leaf.sign(t, mustJSON(t, s.notification("ONE_TIME_CHARGE", "", signedAt, tx, nil)))}))
	parked := w.deliver(req, payments.OutcomeParked)
	res, err := w.svc.Replay(t.Context(), parked.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome, "verified again, still without an account")
	res, err = w.svc.Attribute(t.Context(), parked.Notification.ID, payments.Attribution{Account: "user-42"})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
}
