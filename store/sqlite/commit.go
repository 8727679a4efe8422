package sqlite

import (
	"context"
	"fmt"

	"github.com/payrail/payments"
)

// Commit implements payments.Store: it plans the batch with Batch.Plan,
// reading payments in the write transaction, and persists the plan in that
// transaction. When it returns nil all of it is on disk; when it returns an
// error none of it is, even if ctx ended meanwhile. b is not changed: the
// notification's outcome is in the result.
func (s *Store) Commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	var header any
	if b.Notification != nil {
		var err error
		if header, err = encodeHeader(b.Notification.Header); err != nil {
			return nil, err
		}
	}
	var res *payments.BatchResult
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		// The closure may run more than once, and a run may succeed and
		// still not commit (its group can fail later): each run plans
		// afresh from what the transaction holds, and only the result of
		// the run that committed reaches the caller.
		res = nil
		plan, err := b.Plan(ctx, lookup{s: s, q: tx})
		if err != nil {
			return err
		}
		if err := s.persist(ctx, tx, b, plan, header); err != nil {
			return err
		}
		res = &plan.Result
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// lookup reads payments for the planner through the write transaction.
type lookup struct {
	s *Store
	q querier
}

func (l lookup) PaymentByID(ctx context.Context, id string) (*payments.Payment, error) {
	return l.s.paymentByID(ctx, l.q, id)
}

func (l lookup) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	return l.s.paymentByGatewayID(ctx, l.q, gateway, gatewayID)
}

// persist writes a plan in the transaction it was planned in, in the order
// payments.Plan gives. Idempotency rests on the entries table's unique
// constraint, not on a prior read: ON CONFLICT DO NOTHING writes nothing
// for a known key, and only then is the stored row read, for Settle to
// tell a duplicate from a conflict. A new entry is written with the sync
// task it most often gets (expectedTask), and only a task the plan decides
// otherwise is written again.
func (s *Store) persist(ctx context.Context, tx querier, b *payments.Batch, plan *payments.Plan, header any) error {
	for i := range plan.Created {
		if _, err := s.insertPayment(ctx, tx, &plan.Created[i], ""); err != nil {
			return err
		}
	}
	for i := range plan.Updated {
		if err := s.updatePayment(ctx, tx, &plan.Updated[i]); err != nil {
			return err
		}
	}
	// written are the new entries' rows and the tasks written with them.
	type written struct {
		seq  int64
		task payments.SyncTask
	}
	news := make(map[string]written, len(plan.Entries))
	var recorded map[string]payments.Entry
	for i := range plan.Entries {
		e := &plan.Entries[i]
		task := expectedTask(b, e)
		seq, err := s.insertEntry(ctx, tx, e, &task)
		if err != nil {
			return err
		}
		if seq != 0 {
			news[e.ID] = written{seq, task}
			continue
		}
		old, err := s.entryByID(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		if old == nil {
			return fmt.Errorf("sqlite: entry %s: not inserted, yet not found", e.ID)
		}
		if recorded == nil {
			recorded = map[string]payments.Entry{}
		}
		recorded[e.ID] = *old
	}
	if err := plan.Settle(recorded); err != nil {
		return err
	}
	for _, c := range plan.Balances {
		if err := s.addToBalance(ctx, tx, c); err != nil {
			return err
		}
	}
	for i := range plan.Tasks {
		t := &plan.Tasks[i]
		w, ok := news[t.Entry.ID]
		if !ok {
			return fmt.Errorf("sqlite: sync task of entry %s, which the batch did not insert", t.Entry.ID)
		}
		if sameTask(t, &w.task) {
			continue
		}
		if err := s.setTask(ctx, tx, w.seq, t); err != nil {
			return err
		}
	}
	// Only a batch with postbacks on has messages: every other batch runs
	// no statement for them, and one with postbacks on but no endpoint
	// wanting its messages runs one read and writes nothing.
	if len(plan.Messages) > 0 {
		if err := s.queuePostbacks(ctx, tx, plan.Messages); err != nil {
			return err
		}
	}
	if plan.Journal == nil {
		return nil
	}
	if err := s.insertNotification(ctx, tx, plan.Journal, header); err != nil {
		return err
	}
	if plan.Resolves != "" {
		return s.resolveNotification(ctx, tx, plan.Resolves, plan.Journal.ID)
	}
	return nil
}
