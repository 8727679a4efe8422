package paypal

import (
	"crypto/sha256"
	"sync"
	"time"
)

// maxTransmissions bounds the transmissions remembered; past it the oldest
// are forgotten first.
const maxTransmissions = 100_000

// transmissions remembers, for a while, the body each verified transmission
// id came with. PayPal signs the CRC32 of the body, not the body, and a
// CRC32 can be matched by changing four bytes: whoever sees one signed
// notification (a log, a proxy) could send another body under the same
// signature within the freshness window. Every PayPal delivery is a
// transmission of its own, so a second body under a transmission id already
// seen is refused. The memory is per process: instances behind a load
// balancer do not share it, which the freshness window bounds.
type transmissions struct {
	keep time.Duration

	mu     sync.Mutex
	bodies map[string]seenBody
	queue  []string // ids in the order they were first seen
}

type seenBody struct {
	sum  [sha256.Size]byte
	seen time.Time
}

func newTransmissions(keep time.Duration) *transmissions {
	return &transmissions{keep: keep, bodies: map[string]seenBody{}}
}

// check records body under id and reports whether it is the body id was
// first seen with.
func (t *transmissions) check(id string, body []byte, now time.Time) bool {
	sum := sha256.Sum256(body)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.forget(now)
	if prev, ok := t.bodies[id]; ok {
		return prev.sum == sum
	}
	t.bodies[id] = seenBody{sum: sum, seen: now}
	t.queue = append(t.queue, id)
	return true
}

// forget drops what is older than keep, and the oldest beyond
// maxTransmissions. The caller holds t.mu.
func (t *transmissions) forget(now time.Time) {
	n := 0
	for n < len(t.queue) {
		b := t.bodies[t.queue[n]]
		if len(t.queue)-n < maxTransmissions && now.Sub(b.seen) <= t.keep {
			break
		}
		delete(t.bodies, t.queue[n])
		n++
	}
	t.queue = t.queue[n:]
	if c := cap(t.queue); c > 1024 && len(t.queue) < c/4 {
		t.queue = append([]string(nil), t.queue...) // let the forgotten ids go
	}
}
