package gatewaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// RunConformance is the contract every driver passes, run from the
// driver's own tests against its fake peer. It checks what every driver
// must guarantee about webhooks: authentic notifications parse into valid
// changes; tampered, unsigned, wrongly signed and (where a time is signed)
// stale ones are rejected with ErrUnauthenticated, and so is any body in
// which no signature can be found; garbage never panics; the same
// notification delivered twice records its entries once; the Service's
// replies acknowledge what it recorded and refuse what did not verify; a
// journaled notification verifies again when replayed, however old; parked
// money is recorded once for the account it is attributed to.
//
// Then it exercises every power the driver declares by the interfaces it
// implements (see Harness): a checkout and its notification; money for it
// in another currency or above its amount, which is parked unless the
// gateway reports an overpayment (Harness.Overpaid); capture,
// cancel and refund retried with one key, partial captures and refunds
// (or their refusal, where Harness.Lacks declares them), refunds past the
// charge, and the refusal of another driver's extension before the gateway
// is called. A capture must report the charge it made, as its gateway's
// answer does; a refund may instead be completed by a later notification
// (Harness.Refunded).
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.Gateway, "Harness.Gateway")
	require.NotNil(t, h.Valid, "Harness.Valid")
	if h.Amount != (payments.Money{}) {
		_, known := h.Amount.Currency.Exponent()
		require.True(t, known && h.Amount.Amount >= 10, "Harness.Amount %s: at least 10 minor units of a known currency", h.Amount)
	}
	ctx := context.Background()

	t.Run("valid", func(t *testing.T) {
		c, err := h.Gateway.ParseWebhook(ctx, h.Valid(t, time.Now()))
		require.NoError(t, err)
		require.NotEmpty(t, c.Entries, "a valid notification must record an entry")
		assert.NoError(t, c.Validate(h.Gateway.Name()))
	})
	t.Run("tampered body", func(t *testing.T) { checkTampered(t, &h) })
	t.Run("unsigned", func(t *testing.T) {
		require.NotNil(t, h.Unsign, "Harness.Unsign")
		req := h.Valid(t, time.Now())
		h.Unsign(t, req)
		assertUnauthenticated(t, h.Gateway, req)
	})
	t.Run("wrong key", func(t *testing.T) {
		require.NotNil(t, h.WrongKey, "Harness.WrongKey")
		assertUnauthenticated(t, h.Gateway, h.WrongKey(t, time.Now()))
	})
	t.Run("stale", func(t *testing.T) {
		if h.Tolerance == 0 {
			t.Skip("the gateway signs no time")
		}
		assertUnauthenticated(t, h.Gateway, h.Valid(t, time.Now().Add(-h.Tolerance-time.Minute)))
		assertUnauthenticated(t, h.Gateway, h.Valid(t, time.Now().Add(h.Tolerance+time.Minute)))
	})
	t.Run("garbage is unauthenticated and never panics", func(t *testing.T) { checkGarbage(t, &h) })
	t.Run("delivered twice records once", func(t *testing.T) { checkTwice(t, &h) })
	t.Run("replies", func(t *testing.T) { checkReplies(t, &h) })
	t.Run("replay from the journal verifies again", func(t *testing.T) { checkReplay(t, &h) })
	t.Run("parked then attributed", func(t *testing.T) { checkAttribute(t, &h) })
	runOperations(t, &h)
}

func assertUnauthenticated(t *testing.T, g payments.Gateway, req *payments.WebhookRequest) {
	t.Helper()
	_, err := g.ParseWebhook(context.Background(), req)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
}

// checkTampered changes one character at a time, at many positions, into
// another of its class (digit for digit, letter for letter) so the body stays
// well-formed and only the signature can catch it.
func checkTampered(t *testing.T, h *Harness) {
	if h.SenderOnly {
		checkTamperedSenderOnly(t, h)
		return
	}
	req := h.Valid(t, time.Now())
	body := req.Body
	positions := 0
	for i := 0; i < len(body) && positions < 64; i += max(1, len(body)/64) {
		swapped, ok := swapChar(body[i])
		if !ok {
			continue
		}
		positions++
		tampered := bytes.Clone(body)
		tampered[i] = swapped
		r := *req
		r.Body = tampered
		_, err := h.Gateway.ParseWebhook(context.Background(), &r)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated, "byte %d changed %q→%q", i, body[i], swapped)
	}
	require.Positive(t, positions, "the body has no letters or digits to tamper with")
}

// checkTamperedSenderOnly changes the body of an authentic delivery under
// the same credentials: the driver must never panic, and what it reports
// is refused, ignored, or the very money the gateway's API reports for the
// original — a changed body never moves other money.
func checkTamperedSenderOnly(t *testing.T, h *Harness) {
	req := h.Valid(t, time.Now())
	want, err := h.Gateway.ParseWebhook(context.Background(), cloneRequest(req))
	require.NoError(t, err)
	body := req.Body
	for i := 0; i < len(body); i += max(1, len(body)/64) {
		swapped, ok := swapChar(body[i])
		if !ok {
			continue
		}
		r := cloneRequest(req)
		r.Body[i] = swapped
		assertNotMoneyFromBody(t, h, r, want.Entries)
	}
}

// assertNotMoneyFromBody checks a delivery under a SenderOnly gateway's
// valid credentials whose body is not the one the gateway sent: no panic,
// and either ErrInvalidInput, or no entries, or only entries in allowed.
func assertNotMoneyFromBody(t *testing.T, h *Harness, req *payments.WebhookRequest, allowed []payments.Entry) {
	t.Helper()
	assert.NotPanics(t, func() {
		c, err := h.Gateway.ParseWebhook(context.Background(), req)
		if err != nil {
			assert.ErrorIs(t, err, payments.ErrInvalidInput, "body %q under valid credentials", truncate(req.Body))
			return
		}
		for _, e := range c.Entries {
			assert.Contains(t, allowed, e, "body %q under valid credentials moved money the gateway did not report", truncate(req.Body))
		}
	}, "body %q", truncate(req.Body))
}

func swapChar(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
		return c + 1, true
	case c == '9':
		return '0', true
	case c == 'z':
		return 'a', true
	case c == 'Z':
		return 'A', true
	}
	return 0, false
}

// garbageBodies are bodies no gateway signed: empty, malformed, truncated
// prefixes of valid, and random bytes.
func garbageBodies(valid []byte) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := [][]byte{nil, {}, []byte("{}"), []byte("null"), []byte("[]"), []byte(`{"a":`),
		bytes.Repeat([]byte("["), 10000), []byte("\xff\xfe\x00")}
	for n := 1; n < len(valid); n *= 2 {
		bodies = append(bodies, valid[:n])
	}
	for range 32 {
		b := make([]byte, rng.IntN(512))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		bodies = append(bodies, b)
	}
	return bodies
}

// checkGarbage: a body in which no signature can be found or checked is
// unauthenticated (401), whether the gateway signs in a header or in the
// body; only a notification that verified and cannot be understood is
// invalid input (400).
func checkGarbage(t *testing.T, h *Harness) {
	valid := h.Valid(t, time.Now())
	bodies := garbageBodies(valid.Body)
	headers := []http.Header{valid.Header, {}, nil}
	if h.SenderOnly {
		headers = headers[1:] // under the sender's credentials, see below
	}
	for _, header := range headers {
		for _, b := range bodies {
			req := &payments.WebhookRequest{Header: header.Clone(), Body: b, RemoteAddr: valid.RemoteAddr}
			assert.NotPanics(t, func() {
				_, err := h.Gateway.ParseWebhook(context.Background(), req)
				assert.ErrorIs(t, err, payments.ErrUnauthenticated, "unsigned garbage %q", truncate(b))
			})
		}
	}
	if h.SenderOnly {
		// The sender's credentials are in the headers: garbage under them
		// is refused as what it is, not as a forgery.
		for _, b := range bodies {
			req := &payments.WebhookRequest{Header: valid.Header.Clone(), Body: b, RemoteAddr: valid.RemoteAddr}
			assertNotMoneyFromBody(t, h, req, nil)
		}
		return
	}
	if h.Sign == nil {
		return
	}
	// Signed garbage gets past authentication: the parser must refuse it
	// with ErrInvalidInput, or ignore it, and never panic.
	for _, b := range bodies {
		req := h.Sign(b)
		assert.NotPanics(t, func() {
			c, err := h.Gateway.ParseWebhook(context.Background(), req)
			if err != nil {
				assert.ErrorIs(t, err, payments.ErrInvalidInput, "signed garbage %q", truncate(b))
				return
			}
			assert.Empty(t, c.Entries, "signed garbage %q recorded money", truncate(b))
		}, "signed garbage %q", truncate(b))
	}
}

func checkTwice(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	req := w.valid(time.Now())
	first := w.deliver(req, payments.OutcomeRecorded)
	second := w.deliver(req, payments.OutcomeDuplicate)
	entries := w.entries(payments.EntryFilter{Gateway: w.name})
	assert.Len(t, entries, len(first.Recorded.Entries))
	assert.Len(t, second.Recorded.Duplicates, len(first.Recorded.Entries))
}

// checkReplies: what the Service answers the gateway. An acknowledged
// notification gets a 2xx (exactly Harness.WantReply's, when it is set),
// recorded or duplicate alike; one that does not verify, or has no
// signature to verify, gets a 401 whatever the driver would rather answer.
func checkReplies(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	req := w.valid(time.Now())
	assertAcknowledged(t, h, req, w.deliver(req, payments.OutcomeRecorded))
	assertAcknowledged(t, h, req, w.deliver(req, payments.OutcomeDuplicate))

	require.NotNil(t, h.WrongKey, "Harness.WrongKey")
	rejected := []*payments.WebhookRequest{h.WrongKey(t, time.Now())}
	header := req.Header.Clone()
	if h.SenderOnly {
		// Without the sender's credentials nothing is believed.
		header = http.Header{}
	}
	for _, body := range [][]byte{nil, []byte("{}"), []byte("not a notification")} {
		rejected = append(rejected, &payments.WebhookRequest{Header: header.Clone(), Body: body, RemoteAddr: req.RemoteAddr})
	}
	for _, r := range rejected {
		res, err := w.svc.HandleWebhook(context.Background(), w.name, r)
		require.ErrorIs(t, err, payments.ErrUnauthenticated, "body %q", truncate(r.Body))
		require.NotNil(t, res)
		assert.Equal(t, http.StatusUnauthorized, res.Reply.Status, "body %q", truncate(r.Body))
		assert.False(t, res.Notification.Verified)
	}
}

// assertAcknowledged checks the reply to a notification the Service
// acknowledged: Harness.WantReply's, or else the Service's own, which
// names the outcome.
func assertAcknowledged(t *testing.T, h *Harness, req *payments.WebhookRequest, res *payments.WebhookResult) {
	t.Helper()
	reply := res.Reply
	assert.True(t, reply.Status >= 200 && reply.Status < 300, "reply %d %q", reply.Status, reply.Body)
	if h.WantReply != nil {
		assert.Equal(t, h.WantReply(req), reply)
		return
	}
	var body struct{ Outcome payments.Outcome }
	assert.NoError(t, json.Unmarshal(reply.Body, &body), "reply %q", reply.Body)
	assert.Equal(t, res.Notification.Outcome, body.Outcome, "the Service's acknowledgement names the outcome")
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
