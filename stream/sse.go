package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/payrail/payments"
)

// statusEvent is an event's data: what the paying client needs to show the
// outcome, and nothing else of the payment (no account, metadata or
// gateway ids).
type statusEvent struct {
	PaymentID string            `json:"payment_id"`
	Status    payments.Status   `json:"status"`
	Version   int64             `json:"version"`
	Amount    string            `json:"amount"`
	Currency  payments.Currency `json:"currency"`
	UpdatedAt time.Time         `json:"updated_at"`
	Final     bool              `json:"final"`
}

// sseWriter writes Server-Sent Events and flushes each one.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
	// deadline is how long a write may wait for a client that does not
	// read: until the next heartbeat and then some.
	deadline time.Duration
}

// write writes one event (or comment) and flushes it. Every write moves the
// connection's write deadline forward: the server's own WriteTimeout
// would otherwise cut every stream, and a client that stops reading must
// not hold the handler forever.
func (s *sseWriter) write(b []byte) error {
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.deadline)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// session is one open stream.
type session struct {
	h   *Handler
	out *sseWriter
	id  string
	// sent is the version the client has.
	sent int64
	// failing is set while polls fail, so a store outage is logged once
	// per stream, not once per tick.
	failing bool
}

// serve streams p and what follows it until the payment is final, the
// token expires at expiry, the client leaves, the Handler closes, or a
// write fails. last is the version the client already has.
func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, id string, p *payments.Payment, last int64, expiry time.Time, watch *watcher) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("X-Accel-Buffering", "no") // nginx would buffer the stream
	w.WriteHeader(http.StatusOK)
	s := &session{
		h: h, id: id, sent: last,
		out: &sseWriter{w: w, rc: http.NewResponseController(w), deadline: h.heartbeat + writeSlack},
	}
	if s.out.write(fmt.Appendf(nil, "retry: %d\n\n", h.retry.Milliseconds())) != nil || s.send(p) {
		return
	}
	poll := time.NewTicker(h.poll)
	defer poll.Stop()
	heartbeat := time.NewTicker(h.heartbeat)
	defer heartbeat.Stop()
	expired := time.NewTimer(time.Until(expiry))
	defer expired.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.closing:
			return // the client reconnects, to an instance that is not stopping
		case <-expired.C:
			_ = s.out.write([]byte("event: expired\ndata: {}\n\n"))
			return
		case <-heartbeat.C:
			if s.out.write([]byte(": heartbeat\n\n")) != nil {
				return
			}
		case <-watch.wake:
			if p := watch.latest(); p != nil && s.send(p) {
				return
			}
		case <-poll.C:
			if s.poll(ctx) {
				return
			}
		}
	}
}

// poll reads the payment from the store, for what other processes
// recorded, and sends it when it is newer; it reports whether the stream
// is over.
func (s *session) poll(ctx context.Context) (done bool) {
	p, err := s.h.src.Payment(ctx, s.id)
	switch {
	case ctx.Err() != nil:
		return true
	case errors.Is(err, payments.ErrNotFound):
		return true // deleted: nothing more will happen to it
	case err != nil:
		// A store that is down is read again on the next tick.
		if !s.failing {
			s.h.log.WarnContext(ctx, "stream: poll payment", "payment", s.id, "error", err)
		}
		s.failing = true
		return false
	}
	s.failing = false
	return s.send(p)
}

// send writes p when it is newer than what the client has, and reports
// whether the stream is over: p is final, or the write failed.
func (s *session) send(p *payments.Payment) (done bool) {
	if p.Version <= s.sent {
		return false
	}
	final := s.h.final(p.Status)
	data, err := json.Marshal(statusEvent{
		PaymentID: p.ID, Status: p.Status, Version: p.Version, Amount: p.Amount.Decimal(),
		Currency: p.Amount.Currency, UpdatedAt: p.UpdatedAt, Final: final,
	})
	if err != nil {
		return true // cannot happen: every field marshals
	}
	ev := make([]byte, 0, len(data)+32)
	ev = append(ev, "id: "...)
	ev = strconv.AppendInt(ev, p.Version, 10)
	ev = append(ev, "\ndata: "...)
	ev = append(ev, data...)
	ev = append(ev, "\n\n"...)
	if s.out.write(ev) != nil {
		return true
	}
	s.sent = p.Version
	return final
}
