package storetest

import (
	"fmt"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func statusTests() []namedTest {
	return []namedTest{
		{"MovesOnlyForward", testStatusMovesOnlyForward},
		{"LateNotificationKeepsSucceeded", testLateNotification},
		{"CreatesUnknownPaymentWithAccount", testCreatesUnknownPayment},
		{"UnknownPaymentWithoutAccountIsUnattributed", testUnknownPaymentWithoutAccount},
		{"MatchByPaymentIDSetsGatewayID", testMatchByPaymentID},
		{"FillsOnlyEmptyFields", testFillsOnlyEmptyFields},
	}
}

// statusUpdate builds a batch that reports status for the payment with the
// gateway's id gatewayID.
func statusUpdate(now time.Time, gatewayID string, status payments.Status) *payments.Batch {
	return &payments.Batch{
		Gateway:  gateway,
		Now:      now,
		Payments: []payments.PaymentUpdate{{GatewayID: gatewayID, Status: status}},
	}
}

func testStatusMovesOnlyForward(f *fixture) {
	const (
		pending    = payments.StatusPending
		authorized = payments.StatusAuthorized
		failed     = payments.StatusFailed
		canceled   = payments.StatusCanceled
		expired    = payments.StatusExpired
		succeeded  = payments.StatusSucceeded
		refunded   = payments.StatusRefunded
	)
	cases := []struct{ from, update, want payments.Status }{
		{pending, authorized, authorized},
		{pending, succeeded, succeeded},
		{authorized, succeeded, succeeded},
		{failed, succeeded, succeeded}, // a retry of a failed attempt succeeded
		{succeeded, refunded, refunded},
		{succeeded, authorized, succeeded},
		{succeeded, pending, succeeded},
		{succeeded, failed, succeeded},
		{refunded, succeeded, refunded},
		{canceled, expired, canceled},
		{succeeded, succeeded, succeeded},
	}
	for i, c := range cases {
		f.run(fmt.Sprintf("%s_to_%s", c.from, c.update), func(f *fixture) {
			p := newPayment(fmt.Sprintf("pay_%d", i), fmt.Sprintf("pi_%d", i), "acct_1")
			p.Status = c.from
			f.createPayment(p)

			res := f.commit(statusUpdate(at(time.Minute), p.GatewayID, c.update))

			assert.Equal(f.t, c.want, f.payment(p.ID).Status)
			assert.Empty(f.t, res.Created)
			if c.want == c.from {
				assert.Empty(f.t, res.Changes, "a status that does not advance is no change")
				return
			}
			assertChange(f, res, p.ID, c.from, c.want)
		})
	}
}

// assertChange asserts that res reports exactly one status change, of
// paymentID from one status to another, with the payment as it is after it.
func assertChange(f *fixture, res *payments.BatchResult, paymentID string, from, to payments.Status) {
	f.t.Helper()
	require.Len(f.t, res.Changes, 1)
	c := res.Changes[0]
	assert.Equal(f.t, paymentID, c.Payment.ID)
	assert.Equal(f.t, from, c.From)
	assert.Equal(f.t, to, c.To)
	assert.Equal(f.t, to, c.Payment.Status, "the change carries the payment after it")
}

// testLateNotification replays the common out-of-order delivery: the
// success webhook overtakes the authorization webhook.
func testLateNotification(f *fixture) {
	p := newPayment("pay_late", "pi_late", "acct_1")
	f.createPayment(p)

	res := f.commit(statusUpdate(at(time.Minute), "pi_late", payments.StatusSucceeded))
	assertChange(f, res, p.ID, payments.StatusPending, payments.StatusSucceeded)

	res = f.commit(statusUpdate(at(2*time.Minute), "pi_late", payments.StatusAuthorized))
	assert.Empty(f.t, res.Changes)
	assert.True(f.t, res.Empty(), "a late status changes nothing")
	assert.Equal(f.t, payments.StatusSucceeded, f.payment(p.ID).Status)
}

// updatable is the part of a payment a PaymentUpdate can set.
type updatable struct {
	GatewayID     string
	Account       string
	Reference     string
	Amount        payments.Money
	Status        payments.Status
	RedirectURL   string
	CaptureBefore time.Time
}

func updatableOf(p payments.Payment) updatable {
	return updatable{p.GatewayID, p.Account, p.Reference, p.Amount, p.Status, p.RedirectURL, normTime(p.CaptureBefore)}
}

func testCreatesUnknownPayment(f *fixture) {
	upd := payments.PaymentUpdate{
		GatewayID:     "pi_new",
		Status:        payments.StatusSucceeded,
		Account:       "acct_1",
		Reference:     "order:42:a1b2c3",
		Amount:        payments.Money{Amount: 4200, Currency: "EUR"},
		RedirectURL:   "https://pay.example/checkout/new",
		CaptureBefore: at(48 * time.Hour),
	}
	want := updatable{upd.GatewayID, upd.Account, upd.Reference, upd.Amount, upd.Status, upd.RedirectURL, upd.CaptureBefore}

	res := f.commit(&payments.Batch{Gateway: gateway, Now: at(0), Payments: []payments.PaymentUpdate{upd}})

	require.Len(f.t, res.Created, 1)
	created := normPayment(res.Created[0])
	assert.NotEmpty(f.t, created.ID, "a created payment gets an id")
	assert.Equal(f.t, gateway, created.Gateway)
	assert.Equal(f.t, want, updatableOf(created))

	stored := f.paymentByGatewayID(gateway, "pi_new")
	assert.Equal(f.t, created.ID, stored.ID)
	assert.Equal(f.t, gateway, stored.Gateway)
	assert.Equal(f.t, want, updatableOf(stored))
	assert.Equal(f.t, stored, f.payment(created.ID))
}

// testUnknownPaymentWithoutAccount checks that a report about a payment the
// store does not know, with no account to create it for, fails the whole
// batch: the Service parks such notifications for the host to attribute.
func testUnknownPaymentWithoutAccount(f *fixture) {
	known := newPayment("pay_known", "pi_known", "acct_1")
	f.createPayment(known)

	b := statusUpdate(at(time.Minute), "pi_known", payments.StatusSucceeded)
	b.Payments = append(b.Payments, payments.PaymentUpdate{GatewayID: "pi_ghost", Status: payments.StatusSucceeded})
	b.Notification = newNotification("ntf_ghost", at(time.Minute))

	f.assertWritesNothing(b, payments.ErrUnattributed, []string{known.ID}, []string{"acct_1"})
	_, err := f.s.PaymentByGatewayID(f.ctx, gateway, "pi_ghost")
	assert.ErrorIs(f.t, err, payments.ErrNotFound)
}

// testMatchByPaymentID follows a checkout: the payment is stored before the
// gateway answers, and the first report links it by the library's id.
func testMatchByPaymentID(f *fixture) {
	p := newPayment("pay_checkout", "", "acct_1")
	f.createPayment(p)

	res := f.commit(&payments.Batch{Gateway: gateway, Now: at(time.Minute), Payments: []payments.PaymentUpdate{
		{PaymentID: p.ID, GatewayID: "pi_assigned", Status: payments.StatusAuthorized},
	}})
	assertChange(f, res, p.ID, payments.StatusPending, payments.StatusAuthorized)
	assert.Empty(f.t, res.Created)
	assert.Equal(f.t, "pi_assigned", f.payment(p.ID).GatewayID)
	assert.Equal(f.t, p.ID, f.paymentByGatewayID(gateway, "pi_assigned").ID)

	// Later reports carry only the gateway's id and must find the same payment.
	later := statusUpdate(at(2*time.Minute), "pi_assigned", payments.StatusSucceeded)
	later.Payments[0].Account = "acct_someone_else"
	res = f.commit(later)
	assert.Empty(f.t, res.Created, "a known payment is not created again")
	assertChange(f, res, p.ID, payments.StatusAuthorized, payments.StatusSucceeded)
	assert.Equal(f.t, "acct_1", f.payment(p.ID).Account)
}

func testFillsOnlyEmptyFields(f *fixture) {
	full := newPayment("pay_full", "pi_full", "acct_1")
	empty := &payments.Payment{ID: "pay_empty", Gateway: gateway, GatewayID: "pi_empty", Status: payments.StatusPending, CreatedAt: at(0), UpdatedAt: at(0)}
	f.createPayment(full)
	f.createPayment(empty)

	update := func(gatewayID string) payments.PaymentUpdate {
		return payments.PaymentUpdate{
			GatewayID:     gatewayID,
			Account:       "acct_2",
			Reference:     "order:other:zzz999",
			Amount:        payments.Money{Amount: 99, Currency: "EUR"},
			RedirectURL:   "https://pay.example/elsewhere",
			CaptureBefore: at(30 * 24 * time.Hour),
		}
	}
	f.commit(&payments.Batch{Gateway: gateway, Now: at(time.Minute), Payments: []payments.PaymentUpdate{
		update("pi_full"), update("pi_empty"),
	}})

	assert.Equal(f.t, updatableOf(normPayment(*full)), updatableOf(f.payment("pay_full")),
		"fields already set are kept")
	u := update("pi_empty")
	assert.Equal(f.t,
		updatable{"pi_empty", u.Account, u.Reference, u.Amount, payments.StatusPending, u.RedirectURL, u.CaptureBefore},
		updatableOf(f.payment("pay_empty")), "empty fields are filled")
}
