package sqlite_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrail/payments"
)

// benchCommit commits batches that each record one new entry and journal
// one notification: a real write, so every commit pays for an fsync unless
// it shares its transaction with others.
func benchCommit(b *testing.B, parallel bool) {
	s := openStore(b)
	ctx := context.Background()
	var n atomic.Int64
	commit := func() {
		i := n.Add(1)
		batch := &payments.Batch{
			Gateway: "fake", Now: time.Now(),
			Notification: &payments.Notification{ID: fmt.Sprintf("ntf_%d", i), Gateway: "fake", ReceivedAt: time.Now(), Body: []byte(`{}`)},
			Entries:      []payments.Entry{charge(fmt.Sprintf("ch_%d", i), fmt.Sprintf("acct_%d", i%100), 100)},
		}
		if _, err := s.Commit(ctx, batch); err != nil {
			b.Error(err)
		}
	}
	b.ResetTimer()
	if !parallel {
		for b.Loop() {
			commit()
		}
		return
	}
	b.SetParallelism(16) // webhook handlers waiting on their commits
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			commit()
		}
	})
}

func BenchmarkCommit(b *testing.B)         { benchCommit(b, false) }
func BenchmarkCommitParallel(b *testing.B) { benchCommit(b, true) }
