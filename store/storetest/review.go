package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// reviewTests check what the ledger refuses to book without the host
// (ErrMismatch), payment versions, and what the journal keeps and prunes.
func reviewTests() []namedTest {
	return []namedTest{
		{"AnotherCurrencyIsMismatch", testAnotherCurrency},
		{"ChargeAboveAmountIsMismatch", testChargeAboveAmount},
		{"ReportedOverpaymentIsBooked", testReportedOverpayment},
		{"VersionCountsChanges", testVersionCountsChanges},
		{"UnverifiedBodyPrefixKept", testUnverifiedBodyPrefix},
		{"PruneByOutcomeAndAge", testPruneByOutcomeAndAge},
		{"PruneKeepsWhatWaits", testPruneKeepsWhatWaits},
		{"PruneLimit", testPruneLimit},
	}
}

func testAnotherCurrency(f *fixture) {
	f.createPayment(newPayment("pay_1", "pi_1", "acct_1")) // 15.00 USD
	sc := f.snapshot([]string{"pay_1"}, []string{"acct_1"})
	eur := chargeOf("ch_eur", "pi_1", 1500)
	eur.Amount.Currency = "EUR"
	b := batchAt(at(0), eur)
	b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_1", Status: payments.StatusSucceeded}}
	f.commitFails(b, payments.ErrMismatch)
	assert.Equal(f.t, sc, f.snapshot([]string{"pay_1"}, []string{"acct_1"}), "nothing written: the payment stays pending")

	refund := movement(payments.KindRefund, "re_eur", "", -100, "EUR")
	refund.GatewayPaymentID = "pi_1"
	f.commitFails(batchAt(at(0), refund), payments.ErrMismatch)
}

func testChargeAboveAmount(f *fixture) {
	f.createPayment(newPayment("pay_1", "pi_1", "acct_1")) // 15.00 USD
	f.commitFails(batchAt(at(0), chargeOf("ch_over", "pi_1", 100_000)), payments.ErrMismatch)
	assert.Empty(f.t, f.entries(payments.EntryFilter{}))

	res := f.commit(batchAt(at(0), chargeOf("ch_part", "pi_1", 1000)))
	assert.Len(f.t, res.Entries, 1, "less than asked is a partial capture, booked")
	res = f.commit(batchAt(at(0), chargeOf("ch_whole", "pi_1", 1500)))
	assert.Len(f.t, res.Entries, 1, "exactly what was asked")
}

func testReportedOverpayment(f *fixture) {
	f.createPayment(newPayment("pay_1", "pi_1", "acct_1")) // 15.00 USD
	over := chargeOf("ch_over", "pi_1", 1600)
	over.Overpayment = true
	res := f.commit(batchAt(at(0), over))
	require.Len(f.t, res.Entries, 1)
	assert.False(f.t, res.Entries[0].Overpayment, "an instruction, not stored")
	assert.Equal(f.t, usd(1600), f.balance("acct_1", "USD").Money)

	// A payment that names no amount takes what its gateway reports.
	open := newPayment("pay_open", "pi_open", "acct_1")
	open.Amount = payments.Money{}
	f.createPayment(open)
	assert.Len(f.t, f.commit(batchAt(at(0), chargeOf("ch_open", "pi_open", 99_999))).Entries, 1)
}

func testVersionCountsChanges(f *fixture) {
	f.createPayment(newPayment("pay_1", "pi_1", "acct_1"))
	assert.EqualValues(f.t, 1, f.payment("pay_1").Version)

	res := f.commit(statusUpdate(at(time.Minute), "pi_1", payments.StatusAuthorized))
	require.Len(f.t, res.Changes, 1)
	assert.EqualValues(f.t, 2, res.Changes[0].Payment.Version, "the change carries the new version")
	assert.EqualValues(f.t, 2, f.payment("pay_1").Version)

	f.commit(statusUpdate(at(2*time.Minute), "pi_1", payments.StatusPending))
	assert.EqualValues(f.t, 2, f.payment("pay_1").Version, "a late status changes nothing, not even the version")

	f.commit(statusUpdate(at(3*time.Minute), "pi_1", payments.StatusSucceeded))
	assert.EqualValues(f.t, 3, f.payment("pay_1").Version)

	res = f.commit(&payments.Batch{Gateway: gateway, Now: at(0), Payments: []payments.PaymentUpdate{
		{GatewayID: "pi_new", Account: "acct_1", Status: payments.StatusSucceeded}}})
	require.Len(f.t, res.Created, 1)
	assert.EqualValues(f.t, 1, res.Created[0].Version)
	assert.EqualValues(f.t, 1, f.paymentByGatewayID(gateway, "pi_new").Version)
}

func testUnverifiedBodyPrefix(f *fixture) {
	whole := make([]byte, 3*payments.UnverifiedBodyPrefix)
	for i := range whole {
		whole[i] = byte(i)
	}
	sum := sha256.Sum256(whole)
	n := newNotification("ntf_spam", at(0))
	n.Verified, n.Outcome = false, payments.OutcomeRejected
	n.Body = whole[:payments.UnverifiedBodyPrefix]
	n.BodyLen, n.BodySHA256 = int64(len(whole)), hex.EncodeToString(sum[:])
	f.appendNotification(n)
	assert.Equal(f.t, normNotification(*n), f.notification("ntf_spam"))
}

// journalAged journals one row per outcome, at minute i, for each minute
// given, and returns nothing: rows are named ntf_<outcome>_<minute>.
func journalAged(f *fixture, minutes []int, outcomes ...payments.Outcome) {
	for _, o := range outcomes {
		for _, m := range minutes {
			n := newNotification(fmt.Sprintf("ntf_%s_%d", o, m), at(time.Duration(m)*time.Minute))
			n.Outcome = o
			f.appendNotification(n)
		}
	}
}

func (f *fixture) prune(outcome payments.Outcome, before time.Time, limit int) int {
	f.t.Helper()
	n, err := f.s.PruneNotifications(f.ctx, payments.NotificationPrune{Outcome: outcome, Before: before, Limit: limit})
	require.NoError(f.t, err, "PruneNotifications %s", outcome)
	return n
}

func testPruneByOutcomeAndAge(f *fixture) {
	journalAged(f, []int{1, 2, 3}, payments.OutcomeRejected, payments.OutcomeRecorded)

	assert.Equal(f.t, 2, f.prune(payments.OutcomeRejected, at(3*time.Minute), 0))
	assert.ElementsMatch(f.t, []string{"ntf_recorded_3", "ntf_rejected_3", "ntf_recorded_2", "ntf_recorded_1"},
		notificationIDs(f.notifications(payments.NotificationFilter{})), "only older rows of that outcome go")
	_, err := f.s.Notification(f.ctx, "ntf_rejected_1")
	assert.ErrorIs(f.t, err, payments.ErrNotFound)
	assert.Equal(f.t, 0, f.prune(payments.OutcomeRejected, at(3*time.Minute), 0), "pruning again finds nothing")
}

func testPruneKeepsWhatWaits(f *fixture) {
	journalAged(f, []int{1, 2}, payments.OutcomeParked, payments.OutcomeFailed)
	// A replay resolves the parked row of minute 1.
	b := batchAt(at(time.Hour), charge("ch_1", "acct_1", 100))
	b.Notification = newNotification("ntf_replay", at(time.Hour))
	b.Notification.ReplayOf = "ntf_parked_1"
	f.commit(b)

	assert.Equal(f.t, 1, f.prune(payments.OutcomeParked, at(time.Hour), 0), "only the resolved parked row")
	assert.Equal(f.t, 0, f.prune(payments.OutcomeFailed, at(time.Hour), 0), "failed rows wait for their replay")
	assert.Equal(f.t, []string{"ntf_parked_2"},
		notificationIDs(f.notifications(payments.NotificationFilter{Outcome: payments.OutcomeParked})))
	assert.Len(f.t, f.notifications(payments.NotificationFilter{Outcome: payments.OutcomeFailed}), 2)
}

func testPruneLimit(f *fixture) {
	journalAged(f, []int{1, 2, 3, 4, 5}, payments.OutcomeDuplicate)
	assert.Equal(f.t, 2, f.prune(payments.OutcomeDuplicate, at(time.Hour), 2))
	assert.Equal(f.t, 2, f.prune(payments.OutcomeDuplicate, at(time.Hour), 2))
	assert.Equal(f.t, 1, f.prune(payments.OutcomeDuplicate, at(time.Hour), 2))
	assert.Empty(f.t, f.notifications(payments.NotificationFilter{}))
}
