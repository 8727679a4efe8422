package stream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/stream"
	"github.com/payrail/payments/webhook"
)

// testKey is a stream key for tests: 32 bytes, as MinKeyBytes asks.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// fakeSecret is the webhook secret of every Fake in these tests, so that
// two instances verify each other's notifications.
const fakeSecret = "whsec_stream_test"

// instance is one host process: a Service over a store, with the Fake
// gateway, serving webhooks and, when it has a Handler, streams.
type instance struct {
	svc     *payments.Service
	fake    *gatewaytest.Fake
	handler *stream.Handler
	mux     *http.ServeMux // webhooks and streams; a test may add routes
	srv     *httptest.Server
}

// newInstance serves store's payments. src, when not nil, wraps the
// Service as the stream's Source.
func newInstance(t *testing.T, store payments.Store, opts stream.Options, src func(*payments.Service) stream.Source) *instance {
	t.Helper()
	fake := gatewaytest.NewFake(fakeSecret)
	svc, err := payments.New(store, payments.WithGateway(fake))
	require.NoError(t, err)
	if opts.Key == nil {
		opts.Key = testKey
	}
	var source stream.Source = svc
	if src != nil {
		source = src(svc)
	}
	h, err := stream.New(source, opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	webhook.Mount(mux, svc)
	mux.Handle("GET /payments/{id}/events", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &instance{svc: svc, fake: fake, handler: h, mux: mux, srv: srv}
}

// newMemoryInstance is newInstance over a fresh memory store.
func newMemoryInstance(t *testing.T, opts stream.Options) *instance {
	return newInstance(t, memory.New(), opts, nil)
}

// checkout creates a pending payment at the Fake and returns it as stored.
func (in *instance) checkout(t *testing.T) *payments.Payment {
	t.Helper()
	amount, err := payments.ParseMoney("25.00", "USD")
	require.NoError(t, err)
	p, err := in.svc.Checkout(t.Context(), "fake", payments.CheckoutRequest{
		Account: "user-42", Amount: amount, Reference: "order:672626:k3j2h1",
	})
	require.NoError(t, err)
	require.Equal(t, payments.StatusPending, p.Status)
	stored, err := in.svc.Payment(t.Context(), p.ID) // as streams see it
	require.NoError(t, err)
	return stored
}

var eventSeq atomic.Int64

// postWebhook posts the Fake's notification of eventType for p to this
// instance's webhook endpoint, as the gateway would.
func (in *instance) postWebhook(t *testing.T, p *payments.Payment, eventType string) {
	t.Helper()
	ev := gatewaytest.Event{
		ID: fmt.Sprintf("evt_%d", eventSeq.Add(1)), Type: eventType, PaymentID: p.GatewayID, Account: p.Account,
	}
	if eventType == "payment.succeeded" {
		ev.Amount, ev.Currency = p.Amount.Decimal(), string(p.Amount.Currency)
	}
	req := in.fake.Request(ev, time.Now())
	httpReq, err := http.NewRequestWithContext(t.Context(), http.MethodPost, in.srv.URL+"/fake-handleWebhookEvents", bytes.NewReader(req.Body))
	require.NoError(t, err)
	for k, v := range req.Header {
		httpReq.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(httpReq)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "webhook %s", eventType)
}

// streamURL is the stream of payment id, with token when it is not empty.
func (in *instance) streamURL(id, token string) string {
	u := in.srv.URL + "/payments/" + id + "/events"
	if token != "" {
		u += "?token=" + token
	}
	return u
}

// sseBlock is one block of a stream: an event (Data set), or comments.
type sseBlock struct {
	ID, Event, Data string
	Retry           string
	Comments        []string
}

// sseClient reads a stream as EventSource would, block by block.
type sseClient struct {
	resp   *http.Response
	blocks chan sseBlock
	cancel context.CancelFunc
}

// openStream requests url (with the header set, if any) and, on 200, reads
// its blocks in the background until the stream ends.
func openStream(t *testing.T, client *http.Client, url string, header http.Header) (*sseClient, *http.Response) {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		cancel()
		return nil, resp
	}
	c := &sseClient{resp: resp, blocks: make(chan sseBlock, 64), cancel: cancel}
	go c.read()
	t.Cleanup(c.close)
	return c, resp
}

func (c *sseClient) close() {
	c.cancel()
	_ = c.resp.Body.Close()
}

func (c *sseClient) read() {
	defer close(c.blocks)
	sc := bufio.NewScanner(c.resp.Body)
	var b sseBlock
	empty := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if !empty {
				c.blocks <- b
			}
			b, empty = sseBlock{}, true
			continue
		}
		empty = false
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			b.Comments = append(b.Comments, value)
		case "id":
			b.ID = value
		case "event":
			b.Event = value
		case "data":
			b.Data = value
		case "retry":
			b.Retry = value
		}
	}
}

// next returns the next block that is an event, failing after timeout.
// Comments and retry-only blocks are skipped.
func (c *sseClient) next(t *testing.T, timeout time.Duration) sseBlock {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case b, ok := <-c.blocks:
			require.True(t, ok, "the stream ended before an event came")
			if b.Data != "" {
				return b
			}
		case <-deadline:
			t.Fatalf("no event within %s", timeout)
		}
	}
}

// nextBlock returns the next block of any kind, retry-only blocks skipped.
func (c *sseClient) nextBlock(t *testing.T, timeout time.Duration) sseBlock {
	t.Helper()
	select {
	case b, ok := <-c.blocks:
		require.True(t, ok, "the stream ended")
		if b.Retry != "" && b.Data == "" && len(b.Comments) == 0 {
			return c.nextBlock(t, timeout)
		}
		return b
	case <-time.After(timeout):
		t.Fatalf("nothing within %s", timeout)
		return sseBlock{}
	}
}

// ended waits for the server to end the stream, skipping what comes first.
func (c *sseClient) ended(t *testing.T, timeout time.Duration) []sseBlock {
	t.Helper()
	var rest []sseBlock
	deadline := time.After(timeout)
	for {
		select {
		case b, ok := <-c.blocks:
			if !ok {
				return rest
			}
			rest = append(rest, b)
		case <-deadline:
			t.Fatalf("the stream did not end within %s", timeout)
		}
	}
}

// statusData is an event's data as a client decodes it.
type statusData struct {
	PaymentID string `json:"payment_id"`
	Status    string `json:"status"`
	Version   int64  `json:"version"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Final     bool   `json:"final"`
}

func decodeStatus(t *testing.T, b sseBlock) statusData {
	t.Helper()
	var d statusData
	require.NoError(t, json.Unmarshal([]byte(b.Data), &d), b.Data)
	return d
}
