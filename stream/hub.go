package stream

import (
	"context"
	"sync"

	"github.com/payrail/payments"
)

// hubBuffer is how many events the hub's subscription holds before the
// Service drops some for it. A dropped event delays a stream by at most one
// poll interval; it is never lost for good.
const hubBuffer = 256

// hub shares one subscription to the Service's events among a Handler's
// open streams and routes each payment's events to the streams that follow
// it. One subscription per stream would have the Service copy every event
// once per open stream, under its lock, on the webhook's path.
//
// The subscription exists while at least one stream is open: the first
// watch starts it and the last stop ends it, so an idle Handler holds no
// goroutine.
type hub struct {
	src Source

	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{} // by payment id
	open     int
	cancel   context.CancelFunc // ends the subscription; nil while none
}

// watcher is one stream's view of its payment's events.
type watcher struct {
	hub *hub
	id  string
	// wake has room for one signal: a burst of events wakes the stream
	// once, and it reads the newest payment.
	wake chan struct{}

	mu     sync.Mutex
	newest *payments.Payment
}

// watch registers a watcher of payment id; the caller must call stop.
func (h *hub) watch(id string) *watcher {
	w := &watcher{hub: h, id: id, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.open == 0 {
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		go h.route(h.src.Subscribe(ctx, hubBuffer))
	}
	h.open++
	if h.watchers == nil {
		h.watchers = map[string]map[*watcher]struct{}{}
	}
	if h.watchers[id] == nil {
		h.watchers[id] = map[*watcher]struct{}{}
	}
	h.watchers[id][w] = struct{}{}
	return w
}

// stop unregisters w, and ends the subscription when w was the last.
func (w *watcher) stop() {
	h := w.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers[w.id], w)
	if len(h.watchers[w.id]) == 0 {
		delete(h.watchers, w.id)
	}
	h.open--
	if h.open == 0 {
		h.cancel()
		h.cancel = nil
	}
}

// route hands each payment event to its payment's watchers until the
// subscription's channel closes. A subscription that ended may still be
// draining while a new one starts; a watcher then sees an event twice,
// which it drops by version.
func (h *hub) route(events <-chan payments.Event) {
	for ev := range events {
		if ev.Payment == nil {
			continue
		}
		h.mu.Lock()
		for w := range h.watchers[ev.Payment.ID] {
			w.offer(ev.Payment)
		}
		h.mu.Unlock()
	}
}

// offer keeps p when it is newer than what w holds, and wakes the stream.
// Events of concurrent commits can arrive out of order; the version orders
// them. Watchers share p and only read it.
func (w *watcher) offer(p *payments.Payment) {
	w.mu.Lock()
	if w.newest == nil || p.Version > w.newest.Version {
		w.newest = p
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// latest returns the newest payment the events carried, or nil.
func (w *watcher) latest() *payments.Payment {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newest
}
