package storetest

import (
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func paymentTests() []namedTest {
	return []namedTest{
		{"CreateRoundTrip", testCreatePaymentRoundTrip},
		{"DuplicateIDConflicts", testDuplicatePaymentID},
		{"DuplicateGatewayIDConflicts", testDuplicateGatewayID},
		{"GatewayIDIsScopedToGateway", testGatewayIDScope},
		{"NotFound", testPaymentNotFound},
		{"ReturnsCopies", testPaymentCopies},
	}
}

// testCreatePaymentRoundTrip stores a payment with every field set and one
// with only the required ones, and reads both back by both keys.
func testCreatePaymentRoundTrip(f *fixture) {
	full := newPayment("pay_full", "pi_full", "acct_1")
	full.Status = payments.StatusAuthorized
	full.Amount = payments.Money{Amount: 123_456_789, Currency: "BTC"}
	full.ClientSecret = "pi_full_secret_must_not_be_stored"
	minimal := &payments.Payment{ID: "pay_minimal", Gateway: gateway, Status: payments.StatusPending, CreatedAt: at(0), UpdatedAt: at(0)}

	for _, p := range []*payments.Payment{full, minimal} {
		f.createPayment(p)
		want := normPayment(*p)
		want.ClientSecret = "" // a client secret is handed to the client once and never kept
		assert.Equal(f.t, want, f.payment(p.ID), "Payment(%s)", p.ID)
	}
	assert.Equal(f.t, "pay_full", f.paymentByGatewayID(gateway, "pi_full").ID)
	assert.Empty(f.t, f.payment("pay_full").ClientSecret)
	assert.True(f.t, f.payment("pay_minimal").CaptureBefore.IsZero(), "an unset CaptureBefore reads back as the zero time")
}

func testDuplicatePaymentID(f *fixture) {
	first := newPayment("pay_taken", "pi_first", "acct_1")
	f.createPayment(first)

	second := newPayment("pay_taken", "pi_second", "acct_2")
	assert.ErrorIs(f.t, f.s.CreatePayment(f.ctx, second), payments.ErrConflict)

	assert.Equal(f.t, normPayment(*first), f.payment("pay_taken"), "the first payment is kept as it was")
	_, err := f.s.PaymentByGatewayID(f.ctx, gateway, "pi_second")
	assert.ErrorIs(f.t, err, payments.ErrNotFound, "nothing of the rejected payment is stored")
}

func testDuplicateGatewayID(f *fixture) {
	f.createPayment(newPayment("pay_a", "pi_shared", "acct_1"))

	err := f.s.CreatePayment(f.ctx, newPayment("pay_b", "pi_shared", "acct_2"))
	assert.ErrorIs(f.t, err, payments.ErrConflict)

	_, err = f.s.Payment(f.ctx, "pay_b")
	assert.ErrorIs(f.t, err, payments.ErrNotFound, "the rejected payment is not stored")
	assert.Equal(f.t, "pay_a", f.paymentByGatewayID(gateway, "pi_shared").ID)
}

// testGatewayIDScope checks that the gateway's id is unique per gateway
// only, and only once it is set: checkouts are stored before the gateway has
// answered.
func testGatewayIDScope(f *fixture) {
	f.createPayment(newPayment("pay_here", "pi_same", "acct_1"))
	there := newPayment("pay_there", "pi_same", "acct_1")
	there.Gateway = otherGateway
	assert.NoError(f.t, f.s.CreatePayment(f.ctx, there), "the same gateway id at another gateway")

	assert.NoError(f.t, f.s.CreatePayment(f.ctx, newPayment("pay_unsent_1", "", "acct_1")))
	assert.NoError(f.t, f.s.CreatePayment(f.ctx, newPayment("pay_unsent_2", "", "acct_1")),
		"two payments the gateway has not answered yet")

	assert.Equal(f.t, "pay_here", f.paymentByGatewayID(gateway, "pi_same").ID)
	assert.Equal(f.t, "pay_there", f.paymentByGatewayID(otherGateway, "pi_same").ID)
}

func testPaymentNotFound(f *fixture) {
	f.createPayment(newPayment("pay_known", "pi_known", "acct_1"))
	f.createPayment(newPayment("pay_unsent", "", "acct_1"))

	_, err := f.s.Payment(f.ctx, "pay_missing")
	assert.ErrorIs(f.t, err, payments.ErrNotFound, "unknown id")
	_, err = f.s.PaymentByGatewayID(f.ctx, gateway, "pi_missing")
	assert.ErrorIs(f.t, err, payments.ErrNotFound, "unknown gateway id")
	_, err = f.s.PaymentByGatewayID(f.ctx, otherGateway, "pi_known")
	assert.ErrorIs(f.t, err, payments.ErrNotFound, "known gateway id at another gateway")
	_, err = f.s.PaymentByGatewayID(f.ctx, gateway, "")
	assert.ErrorIs(f.t, err, payments.ErrNotFound, "a payment without a gateway id has none to be found by")
}

// testPaymentCopies checks that a store keeps no reference to what its
// caller passes in or gets back: a caller editing its copy must not edit
// the stored payment.
func testPaymentCopies(f *fixture) {
	p := newPayment("pay_copy", "pi_copy", "acct_1")
	f.createPayment(p)
	want := normPayment(*p)
	want.Metadata = map[string]string{"order": "pay_copy", "note": "héllo, wörld"}

	p.Metadata["order"] = "edited after create"
	got, err := f.s.Payment(f.ctx, "pay_copy")
	require.NoError(f.t, err)
	got.Metadata["order"] = "edited after read"

	assert.Equal(f.t, want, f.payment("pay_copy"))
}
