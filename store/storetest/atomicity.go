package storetest

import (
	"time"

	"github.com/payrail/payments"
)

func atomicityTests() []namedTest {
	return []namedTest{
		{"ConflictingLastEntryWritesNothing", testConflictAtEnd},
		{"InvalidInputWritesNothing", testInvalidInput},
		{"TakenNotificationIDWritesNothing", testTakenNotificationID},
	}
}

// scene is a store holding one pending payment with one recorded charge:
// the setting in which the atomicity tests try batches that must fail whole.
type scene struct {
	payment  *payments.Payment
	recorded payments.Entry
}

func (f *fixture) setScene() scene {
	f.t.Helper()
	p := newPayment("pay_scene", "pi_scene", "acct_scene")
	f.createPayment(p)
	recorded := chargeOf("ch_scene_recorded", "pi_scene", 1000)
	f.commit(batchAt(at(0), recorded))
	return scene{payment: p, recorded: recorded}
}

// doomedBatch builds a batch that, were it committed, would advance the
// scene's payment, record two new entries with their balance and sync
// tasks, lease them, and journal a notification; last is appended to its
// entries and must make the whole of it fail.
func (sc scene) doomedBatch(last ...payments.Entry) *payments.Batch {
	b := statusUpdate(at(time.Hour), sc.payment.GatewayID, payments.StatusSucceeded)
	b.Entries = append([]payments.Entry{
		chargeOf("ch_scene_new_1", sc.payment.GatewayID, 250),
		charge("ch_scene_new_2", "acct_other", 350),
	}, last...)
	b.Notification = newNotification("ntf_doomed", at(time.Hour))
	b.SyncOwner, b.SyncLeaseUntil = "svc_a", at(time.Hour+time.Minute)
	return b
}

func (sc scene) paymentIDs() []string { return []string{sc.payment.ID} }

func (sc scene) accounts() []string { return []string{sc.payment.Account, "acct_other"} }

func testConflictAtEnd(f *fixture) {
	sc := f.setScene()
	conflicting := sc.recorded
	conflicting.Amount = usd(sc.recorded.Amount.Amount + 1)

	f.assertWritesNothing(sc.doomedBatch(conflicting), payments.ErrConflict, sc.paymentIDs(), sc.accounts())
}

// testInvalidInput checks malformed batches are refused as the caller's
// fault, before anything is written.
func testInvalidInput(f *fixture) {
	sc := f.setScene()
	wrongID := charge("ch_wrong_id", "acct_other", 100)
	wrongID.ID = "ent_not_derived_from_the_key"
	otherGatewayEntry := charge("ch_elsewhere", "acct_other", 100)
	otherGatewayEntry.Gateway = otherGateway

	entries := []struct {
		name  string
		entry payments.Entry
	}{
		{"charge with negative amount", charge("ch_negative", "acct_other", -100)},
		{"refund with positive amount", movement(payments.KindRefund, "re_positive", "acct_other", 100, "USD")},
		{"chargeback with positive amount", movement(payments.KindChargeback, "cb_positive", "acct_other", 100, "USD")},
		{"zero amount", charge("ch_zero", "acct_other", 0)},
		{"unknown kind", movement("payout", "po_1", "acct_other", 100, "USD")},
		{"unknown currency", movement(payments.KindCharge, "ch_xyz", "acct_other", 100, "XYZ")},
		{"no gateway ref", charge("", "acct_other", 100)},
		{"id not derived from the key", wrongID},
		{"entry of another gateway", otherGatewayEntry},
	}
	for _, c := range entries {
		f.run(c.name, func(f *fixture) {
			f.assertWritesNothing(sc.doomedBatch(c.entry), payments.ErrInvalidInput, sc.paymentIDs(), sc.accounts())
		})
	}

	batches := []struct {
		name   string
		mutate func(b *payments.Batch)
	}{
		{"no gateway", func(b *payments.Batch) { b.Gateway = "" }},
		{"unknown status", func(b *payments.Batch) { b.Payments[0].Status = "paid" }},
		{"update without ids", func(b *payments.Batch) {
			b.Payments = append(b.Payments, payments.PaymentUpdate{Status: payments.StatusSucceeded})
		}},
	}
	for _, c := range batches {
		f.run(c.name, func(f *fixture) {
			b := sc.doomedBatch()
			c.mutate(b)
			f.assertWritesNothing(b, payments.ErrInvalidInput, sc.paymentIDs(), sc.accounts())
		})
	}
}

// testTakenNotificationID checks the journal's key holds inside Commit too:
// a batch whose notification id is journaled already fails whole, and the
// journaled row is left as it was.
func testTakenNotificationID(f *fixture) {
	sc := f.setScene()
	taken := newNotification("ntf_doomed", at(-time.Minute))
	taken.Outcome = payments.OutcomeRejected
	taken.Verified = false
	f.appendNotification(taken)

	f.assertWritesNothing(sc.doomedBatch(), payments.ErrConflict, sc.paymentIDs(), sc.accounts())
}
