package payments_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

func newService(t *testing.T, opts ...payments.Option) (*payments.Service, *gatewaytest.Fake, *memory.Store) {
	t.Helper()
	fake := gatewaytest.NewFake("whsec_svc")
	store := memory.New()
	svc, err := payments.New(store, append([]payments.Option{payments.WithGateway(fake)}, opts...)...)
	require.NoError(t, err)
	return svc, fake, store
}

func charge(id, payment, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: id, Type: "payment.succeeded", PaymentID: payment, Account: account, Amount: amount, Currency: "USD"}
}

func TestHandleWebhookOutcomes(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	now := time.Now()

	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "alice", "10.00"), now))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, "alice", res.Recorded.Entries[0].Account)

	res, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "alice", "10.00"), now))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)

	res, err = svc.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "e2", Type: "customer.created"}, now))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeIgnored, res.Notification.Outcome)

	bad := fake.Request(charge("e3", "p2", "alice", "99.00"), now)
	bad.Body[len(bad.Body)-3] ^= 1
	_, err = svc.HandleWebhook(ctx, "fake", bad)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)

	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e4", "p3", "alice", "1.001"), now))
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "more precision than USD")

	_, err = svc.HandleWebhook(ctx, "nope", fake.Request(charge("e5", "p4", "alice", "1"), now))
	assert.ErrorIs(t, err, payments.ErrNotSupported)

	bal, err := svc.Balance(ctx, "alice", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1000), bal.Money.Amount)

	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{})
	require.NoError(t, err)
	var outcomes []payments.Outcome
	for _, n := range journal {
		outcomes = append(outcomes, n.Outcome)
	}
	assert.Equal(t, []payments.Outcome{payments.OutcomeRejected, payments.OutcomeRejected, payments.OutcomeIgnored,
		payments.OutcomeDuplicate, payments.OutcomeRecorded}, outcomes, "newest first")
	assert.False(t, journal[1].Verified, "the tampered one did not verify")
	assert.True(t, journal[0].Verified, "the imprecise one verified but could not be recorded")
	assert.Equal(t, []string{gatewaytest.SignatureHeader}, keys(journal[1].Header), "only the headers the driver needs")
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLateNotificationNeverMovesBackwards(t *testing.T) {
	ctx := t.Context()
	svc, fake, store := newService(t)
	now := time.Now()
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "bob", "5.00"), now))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "e0", Type: "payment.authorized", PaymentID: "p1"}, now))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome, "a late status changes nothing")
	p, err := store.PaymentByGatewayID(ctx, "fake", "p1")
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, p.Status)
}

func TestUnattributedIsParkedThenReplayed(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	refund := gatewaytest.Event{ID: "e9", Type: "refund.succeeded", PaymentID: "p9", RefundID: "r9", Amount: "1.00", Currency: "USD"}
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(refund, time.Now()))
	require.NoError(t, err, "parked notifications are acknowledged")
	assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome)
	entries, _, err := svc.Entries(ctx, payments.EntryFilter{})
	require.NoError(t, err)
	assert.Empty(t, entries)

	// The charge arrives later with the account; replaying the refund attributes it.
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e8", "p9", "carol", "3.00"), time.Now()))
	require.NoError(t, err)
	replayed, err := svc.Replay(ctx, res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, replayed.Notification.Outcome)
	bal, err := svc.Balance(ctx, "carol", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(200), bal.Money.Amount)
}

func TestReplayOutsideTheSignatureWindow(t *testing.T) {
	ctx := t.Context()
	clock := time.Now()
	fake := gatewaytest.NewFake("k", gatewaytest.WithClock(func() time.Time { return clock }))
	svc, err := payments.New(memory.New(), payments.WithGateway(fake))
	require.NoError(t, err)
	refund := gatewaytest.Event{ID: "e1", Type: "refund.succeeded", PaymentID: "p1", RefundID: "r1", Amount: "1.00", Currency: "USD"}
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(refund, clock))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeParked, res.Notification.Outcome)

	clock = clock.Add(24 * time.Hour)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(refund, clock.Add(-24*time.Hour)))
	require.ErrorIs(t, err, payments.ErrUnauthenticated, "a live delivery that old is stale")
	_, err = svc.Replay(ctx, res.Notification.ID)
	require.NoError(t, err, "a replay of a verified notification skips the freshness window")

	rejected, _, err := svc.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeRejected})
	require.NoError(t, err)
	require.Len(t, rejected, 1)
	_, err = svc.Replay(ctx, rejected[0].ID)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "what never verified is never replayed")
}

// failingStore fails every Commit, as a database that is down would.
type failingStore struct{ *memory.Store }

func (failingStore) Commit(context.Context, *payments.Batch) (*payments.BatchResult, error) {
	return nil, errors.New("connection refused")
}

func TestStoreFailureIsNotTheSendersFault(t *testing.T) {
	fake := gatewaytest.NewFake("k")
	store := failingStore{memoryStore()}
	svc, err := payments.New(store, payments.WithGateway(fake))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "fake", fake.Request(charge("e1", "p1", "a", "1.00"), time.Now()))
	require.Error(t, err)
	for _, sentinel := range []error{payments.ErrUnauthenticated, payments.ErrInvalidInput, payments.ErrConflict} {
		assert.NotErrorIs(t, err, sentinel)
	}
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)
	journal, _, err := store.Notifications(t.Context(), payments.NotificationFilter{})
	require.NoError(t, err)
	require.Len(t, journal, 1, "the failure is journaled when the journal still works")
	assert.Equal(t, payments.OutcomeFailed, journal[0].Outcome)
}

func TestConflictingNotificationIsRejected(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "1.00"), time.Now()))
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e2", "p1", "a", "0.50"), time.Now()))
	assert.ErrorIs(t, err, payments.ErrConflict)
	bal, err := svc.Balance(ctx, "a", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(100), bal.Money.Amount)
}

func TestCheckoutAndOperations(t *testing.T) {
	ctx := t.Context()
	svc, fake, store := newService(t)
	p, err := svc.Checkout(ctx, "fake", payments.CheckoutRequest{
		Account: "dave", Amount: payments.Money{Amount: 2500, Currency: "USD"}, Reference: "order:1:abc",
	})
	require.NoError(t, err)
	assert.Equal(t, payments.StatusPending, p.Status)
	assert.NotEmpty(t, p.GatewayID)
	assert.Equal(t, p.GatewayID+"_secret", p.ClientSecret)
	assert.NotEmpty(t, p.RedirectURL)
	stored, err := store.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Empty(t, stored.ClientSecret, "client secrets are not persisted")

	captured, err := svc.Capture(ctx, p.ID, payments.CaptureOptions{})
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, captured.Payment.Status)
	require.Len(t, captured.Recorded.Entries, 1)
	assert.Equal(t, "order:1:abc", captured.Recorded.Entries[0].Reference)

	// The gateway's own notification of the capture is a duplicate.
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", p.GatewayID, "", "25.00"), time.Now()))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)

	part := payments.Money{Amount: 500, Currency: "USD"}
	r1, err := svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part, Key: "k1"})
	require.NoError(t, err)
	require.Len(t, r1.Recorded.Entries, 1)
	r2, err := svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part, Key: "k1"})
	require.NoError(t, err)
	assert.Empty(t, r2.Recorded.Entries, "the same refund key never refunds twice")

	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &payments.Money{Amount: 1, Currency: "EUR"}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &payments.Money{Amount: 2501, Currency: "USD"}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)

	bal, err := svc.Balance(ctx, "dave", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(2000), bal.Money.Amount)
	assert.Contains(t, fake.Calls(), "capture "+p.ID+":capture")
	assert.Contains(t, fake.Calls(), "refund "+p.ID+":refund:k1")

	_, err = svc.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "dave", Amount: payments.Money{Amount: -1, Currency: "USD"}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = svc.Capture(ctx, "pay_missing", payments.CaptureOptions{})
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

// bareGateway has no optional powers.
type bareGateway struct{}

func (bareGateway) Name() string { return "bare" }
func (bareGateway) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return nil, payments.ErrUnauthenticated
}

func TestMissingPowersAreNotSupported(t *testing.T) {
	ctx := t.Context()
	store := memory.New()
	svc, err := payments.New(store, payments.WithGateway(bareGateway{}))
	require.NoError(t, err)
	_, err = svc.Checkout(ctx, "bare", payments.CheckoutRequest{Account: "a", Amount: payments.Money{Amount: 1, Currency: "USD"}})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	_, err = svc.VerifyPurchase(ctx, "bare", payments.PurchaseRequest{Account: "a", Token: "t"})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	require.NoError(t, store.CreatePayment(ctx, &payments.Payment{ID: "pay_1", Gateway: "bare", GatewayID: "b1", Account: "a", Status: payments.StatusAuthorized}))
	_, err = svc.Capture(ctx, "pay_1", payments.CaptureOptions{})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	_, err = svc.Cancel(ctx, "pay_1", payments.CancelOptions{})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	_, err = svc.Refund(ctx, "pay_1", payments.RefundOptions{})
	assert.ErrorIs(t, err, payments.ErrNotSupported)

	_, err = payments.New(store, payments.WithGateway(bareGateway{}, bareGateway{}))
	assert.ErrorIs(t, err, payments.ErrConflict, "two drivers with one name")
}

func TestHealth(t *testing.T) {
	a := gatewaytest.NewFake("k", gatewaytest.WithName("a"))
	b := gatewaytest.NewFake("k", gatewaytest.WithName("b"))
	svc, err := payments.New(memory.New(), payments.WithGateway(a, b, bareGateway{}))
	require.NoError(t, err)
	h := svc.Health(t.Context())
	assert.Equal(t, payments.HealthOK, h.Status)
	require.Len(t, h.Gateways, 3)
	assert.False(t, h.Gateways[2].Checked, "bare has no health check")

	a.SetHealth(errors.New("401 invalid api key"))
	h = svc.Health(t.Context())
	assert.Equal(t, payments.HealthPartial, h.Status)
	assert.Equal(t, "401 invalid api key", h.Gateways[0].Error)

	b.SetHealth(errors.New("timeout"))
	svc2, err := payments.New(memory.New(), payments.WithGateway(a, b))
	require.NoError(t, err)
	assert.Equal(t, payments.HealthUnavailable, svc2.Health(t.Context()).Status)
}

func TestSubscribeSeesCommittedChanges(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	svc, fake, _ := newService(t)
	events := svc.Subscribe(ctx, 16)
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "erin", "7.00"), time.Now()))
	require.NoError(t, err)
	var types []payments.EventType
	for range 2 {
		ev := <-events
		types = append(types, ev.Type)
		if ev.Type == payments.EventEntryRecorded {
			assert.Equal(t, int64(700), ev.Entry.Amount.Amount)
		}
	}
	assert.ElementsMatch(t, []payments.EventType{payments.EventPaymentCreated, payments.EventEntryRecorded}, types)
	cancel()
	for range events { // closed once ctx ends
	}
}

// storeGateway verifies purchases the way App Store and Google Play drivers
// do: the token names a transaction the gateway confirms.
type storeGateway struct{ bareGateway }

func (storeGateway) Name() string { return "appstore" }

func (storeGateway) VerifyPurchase(ctx context.Context, req payments.PurchaseRequest) (*payments.Changes, error) {
	if req.Token != "valid-token" {
		return nil, fmt.Errorf("appstore: transaction not found: %w", payments.ErrUnauthenticated)
	}
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: "tx_1", Status: payments.StatusSucceeded, Account: req.Account,
			Amount: payments.Money{Amount: 499, Currency: "USD"}}},
		Entries: []payments.Entry{{Kind: payments.KindCharge, GatewayRef: "tx_1", GatewayPaymentID: "tx_1",
			Amount: payments.Money{Amount: 499, Currency: "USD"}}},
	}, nil
}

func TestVerifyPurchaseRecordsOnce(t *testing.T) {
	ctx := t.Context()
	svc, err := payments.New(memory.New(), payments.WithGateway(storeGateway{}))
	require.NoError(t, err)
	req := payments.PurchaseRequest{Account: "frank", ProductID: "coins_500", Token: "valid-token"}
	first, err := svc.VerifyPurchase(ctx, "appstore", req)
	require.NoError(t, err)
	require.Len(t, first.Recorded.Entries, 1)
	assert.Equal(t, "frank", first.Recorded.Entries[0].Account)
	require.NotNil(t, first.Payment)
	assert.Equal(t, payments.StatusSucceeded, first.Payment.Status)

	again, err := svc.VerifyPurchase(ctx, "appstore", req)
	require.NoError(t, err)
	assert.Empty(t, again.Recorded.Entries, "a client that reports the same purchase twice is credited once")
	assert.Len(t, again.Recorded.Duplicates, 1)

	_, err = svc.VerifyPurchase(ctx, "appstore", payments.PurchaseRequest{Account: "frank", Token: "forged"})
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	_, err = svc.VerifyPurchase(ctx, "appstore", payments.PurchaseRequest{Token: "valid-token"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "an account is required")
	bal, err := svc.Balance(ctx, "frank", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(499), bal.Money.Amount)
}

// flakyGateway fails the way a driver does when an API call it needs times
// out, and has no credentials to check its health with.
type flakyGateway struct{ bareGateway }

func (flakyGateway) Name() string { return "flaky" }
func (flakyGateway) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return nil, errors.New("flaky: list refunds: context deadline exceeded")
}
func (flakyGateway) CheckHealth(context.Context) error {
	return fmt.Errorf("flaky: no API key: %w", payments.ErrNotSupported)
}

func TestUnclassifiedDriverErrorIsRetried(t *testing.T) {
	store := memory.New()
	svc, err := payments.New(store, payments.WithGateway(flakyGateway{}))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "flaky", &payments.WebhookRequest{Body: []byte(`{}`)})
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrInvalidInput, "not the sender's fault: the gateway must retry")
	assert.NotErrorIs(t, err, payments.ErrUnauthenticated)
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)
	journal, _, err := store.Notifications(t.Context(), payments.NotificationFilter{Outcome: payments.OutcomeFailed})
	require.NoError(t, err)
	assert.Len(t, journal, 1)

	h := svc.Health(t.Context())
	assert.Equal(t, payments.HealthOK, h.Status, "a driver without credentials to check is not down")
	assert.False(t, h.Gateways[0].Checked)
}

func TestRefundRetriedWithoutKeyRefundsOnce(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	p, err := svc.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "gina", Amount: payments.Money{Amount: 1000, Currency: "USD"}})
	require.NoError(t, err)
	_, err = svc.Capture(ctx, p.ID, payments.CaptureOptions{})
	require.NoError(t, err)

	part := payments.Money{Amount: 400, Currency: "USD"}
	for range 2 { // the host retries after a timeout
		_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part})
		require.NoError(t, err)
	}
	var keys []string
	for _, c := range fake.Calls() {
		if strings.HasPrefix(c, "refund ") {
			keys = append(keys, c)
		}
	}
	require.Len(t, keys, 2)
	assert.Equal(t, keys[0], keys[1], "a retried refund reaches the gateway with the same idempotency key")
	bal, err := svc.Balance(ctx, "gina", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(600), bal.Money.Amount)

	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &payments.Money{Amount: 601, Currency: "USD"}, Key: "second"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "more than the ledger says the payment still holds")
	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &payments.Money{Amount: 600, Currency: "USD"}, Key: "second"})
	assert.NoError(t, err)
}

// nilGateway has a bug: it returns neither changes nor an error.
type nilGateway struct{ bareGateway }

func (nilGateway) Name() string { return "nil" }
func (nilGateway) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return nil, nil
}

func TestDriverWithoutAnswerIsRetriedNotDropped(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(nilGateway{}))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "nil", &payments.WebhookRequest{Body: []byte(`{}`)})
	require.Error(t, err)
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)
}

// elsewhereGateway reports a payment by a library id this deployment never
// issued, as happens when two deployments share one gateway account.
type elsewhereGateway struct{ bareGateway }

func (elsewhereGateway) Name() string { return "shared" }
func (elsewhereGateway) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return &payments.Changes{EventID: "e1", Payments: []payments.PaymentUpdate{{PaymentID: "pay_elsewhere", Status: payments.StatusFailed}}}, nil
}

func TestUnknownLibraryPaymentIsParked(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(elsewhereGateway{}))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "shared", &payments.WebhookRequest{Body: []byte(`{}`)})
	require.NoError(t, err, "retrying cannot help: acknowledge and keep it")
	assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome)
}

func TestPaymentWithoutStatusCanStart(t *testing.T) {
	assert.True(t, payments.Status("").Advances(payments.StatusPending))
	assert.True(t, payments.Status("").Advances(payments.StatusSucceeded))
	assert.False(t, payments.Status("").Advances("bogus"))
}

func TestNewRejectsNilOptions(t *testing.T) {
	for name, opt := range map[string]payments.Option{
		"gateway": payments.WithGateway(nil),
		"logger":  payments.WithLogger(nil),
		"clock":   payments.WithClock(nil),
	} {
		_, err := payments.New(memory.New(), opt)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
	}
	_, err := payments.New(nil)
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

func TestSubscribersOwnTheirEvents(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	a, b := svc.Subscribe(ctx, 8), svc.Subscribe(ctx, 8)
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "hana", "1.00"), time.Now()))
	require.NoError(t, err)
	for range 2 {
		ea, eb := <-a, <-b
		require.Equal(t, ea.Type, eb.Type)
		if ea.Entry != nil {
			ea.Entry.Amount.Amount = 999_999 // one subscriber scribbling on its copy
			assert.Equal(t, int64(100), eb.Entry.Amount.Amount, "the other's copy is untouched")
		}
	}
}

func memoryStore() *memory.Store { return memory.New() }
