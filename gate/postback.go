package gate

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// Postbacks tell a merchant a payment's outcome: one message per status
// worth telling (see eventFor), to the postbackUrl of its request, signed per
// Standard Webhooks (https://www.standardwebhooks.com) with the merchant's
// secrets. The root package's postbacks cannot carry them: its endpoints
// take every payment's messages (there is no per-payment or per-account
// filter), so a merchant's endpoint would receive other merchants'
// payments, and its bodies carry the library's payment, not the merchant's
// id. So the gate queues its own, in its RecordStore, and delivers them
// through the same SSRF guard.

// postbackData is a postback's "data": the merchant's id of the payment and
// the gate's, the status and the money as a decimal string, never a float.
type postbackData struct {
	ID         string `json:"id"`
	PaymentID  string `json:"paymentId"`
	MerchantID string `json:"merchantId"`
	Status     Status `json:"status"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	Gateway    string `json:"gateway"`
}

// observe queues the postback of p's status for rec when the status is one
// to tell and the merchant was not told it yet. It is idempotent: every
// process and every page that looks may call it.
func (g *Gate) observe(ctx context.Context, rec *Record, p *payments.Payment) error {
	status := Status(p.Status)
	typ, ok := eventFor(status)
	if !ok || !PostbackDue(rec.Posted, status) {
		return nil
	}
	now := g.now().UTC()
	body, err := json.Marshal(struct {
		Type      EventType    `json:"type"`
		Timestamp time.Time    `json:"timestamp"`
		Data      postbackData `json:"data"`
	}{typ, now, postbackData{ID: rec.MerchantPaymentID, PaymentID: rec.ID, MerchantID: rec.Merchant, Status: status,
		Amount: p.Amount.Decimal(), Currency: string(p.Amount.Currency), Gateway: rec.Gateway}})
	if err != nil {
		return fmt.Errorf("gate: encode postback: %w", err)
	}
	sum := sha256.Sum256([]byte(rec.ID + "\x00" + string(status)))
	_, err = g.cfg.Records.QueuePostback(ctx, &Postback{
		MessageID: "msg_" + hex.EncodeToString(sum[:16]), RecordID: rec.ID, Merchant: rec.Merchant,
		URL: rec.Request.PostbackURL, Type: typ, Status: status, Body: body,
		State: PostbackPending, NextAttempt: now, CreatedAt: now,
	})
	if err == nil {
		rec.Posted = status
	}
	return err
}

// Sweep checks the ledger status of every payment the gate still follows
// (Config.Follow) and queues the postbacks due, for the changes Run's
// subscription did not see: recorded by another process, or missed by a
// subscriber that fell behind. It reports how many it queued.
func (g *Gate) Sweep(ctx context.Context) (int, error) {
	recs, err := g.cfg.Records.Following(ctx, g.now().Add(-g.cfg.Follow))
	if err != nil {
		return 0, err
	}
	queued := 0
	for i := range recs {
		rec := &recs[i]
		p, err := g.svc.Payment(ctx, rec.PaymentID)
		if err != nil {
			return queued, err
		}
		before := rec.Posted
		if err := g.observe(ctx, rec, p); err != nil {
			return queued, err
		}
		if rec.Posted != before {
			queued++
		}
	}
	return queued, nil
}

// DeliverPostbacks runs one pass: it claims due postbacks, posts them and
// settles each, and reports how many were delivered.
func (g *Gate) DeliverPostbacks(ctx context.Context) (int, error) {
	lease := max(time.Minute, 2*g.cfg.PostbackTimeout)
	due, err := g.cfg.Records.ClaimPostbacks(ctx, PostbackClaim{Owner: g.owner, Now: g.now(), Lease: lease, Limit: 100})
	if err != nil {
		return 0, err
	}
	delivered := 0
	for i := range due {
		if g.deliver(ctx, &due[i]) {
			delivered++
		}
	}
	return delivered, nil
}

// deliver makes one attempt at p and settles it, reporting success.
func (g *Gate) deliver(ctx context.Context, p *Postback) bool {
	status, failure := 0, ""
	m, err := g.cfg.Merchants.Merchant(ctx, p.Merchant)
	if err == nil {
		status, failure = g.post(ctx, m.PostbackSecrets, p)
	} else {
		failure = "merchant: " + err.Error()
	}
	ok := status >= 200 && status < 300
	p.Attempts++
	p.LastStatus, p.LastError = status, failure
	switch {
	case ok:
		p.State = PostbackDelivered
	case p.Attempts > len(g.cfg.PostbackSchedule):
		p.State = PostbackFailed
	default:
		delay := g.cfg.PostbackSchedule[p.Attempts-1]
		p.State, p.NextAttempt = PostbackPending, g.now().Add(delay+rand.N(delay/10+1))
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := g.cfg.Records.SettlePostback(sctx, g.owner, p); err != nil {
		g.log.WarnContext(ctx, "gate: settle postback", "message", p.MessageID, "error", err)
	}
	if !ok {
		g.log.WarnContext(ctx, "gate: postback failed", "message", p.MessageID, "merchant", p.Merchant,
			"status", status, "error", failure, "attempts", p.Attempts)
	}
	return ok
}

// post sends one signed attempt and returns the answer's status, or why
// there was none.
func (g *Gate) post(ctx context.Context, secrets []string, p *Postback) (int, string) {
	ts := g.now()
	sig, err := sign(secrets, p.MessageID, ts, p.Body)
	if err != nil {
		return 0, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.PostbackTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(p.Body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payrail-payments-gate")
	req.Header.Set("webhook-id", p.MessageID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return resp.StatusCode, ""
}

// sign returns the webhook-signature header value: "v1,<base64 HMAC-SHA256
// of id.timestamp.body>" for each secret, space-separated, per the Standard
// Webhooks specification.
func sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("gate: the merchant has no postback secret")
	}
	var sigs []string
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return "", fmt.Errorf("gate: a postback secret is not whsec_ and base64: %w", payments.ErrInvalidInput)
		}
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}

// Run follows payments and delivers postbacks until ctx ends, then returns
// nil: it queues a postback as soon as the Service publishes a status
// change of a gate payment, sweeps the ledger every SweepEvery for changes
// it did not see, and delivers due postbacks every Interval. Several gates
// may Run over one RecordStore that leases postbacks across processes.
func (g *Gate) Run(ctx context.Context) error {
	events := g.svc.Subscribe(ctx, 256)
	deliver := time.NewTicker(g.cfg.Interval)
	defer deliver.Stop()
	sweep := time.NewTicker(g.cfg.SweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			g.onEvent(ctx, ev)
		case <-sweep.C:
			if _, err := g.Sweep(ctx); err != nil && ctx.Err() == nil {
				g.log.WarnContext(ctx, "gate: sweep", "error", err)
			}
		case <-deliver.C:
			if _, err := g.DeliverPostbacks(ctx); err != nil && ctx.Err() == nil {
				g.log.WarnContext(ctx, "gate: deliver postbacks", "error", err)
			}
		}
	}
}

// onEvent queues the postback of a gate payment's status change. An event
// may be stale (events of concurrent commits arrive out of order); observe
// never posts a step backwards.
func (g *Gate) onEvent(ctx context.Context, ev payments.Event) {
	if ev.Type != payments.EventStatusChanged || ev.Payment == nil {
		return
	}
	rec, err := g.cfg.Records.RecordByPayment(ctx, ev.Payment.ID)
	if err != nil {
		if !isNotFound(err) {
			g.log.WarnContext(ctx, "gate: find record of payment", "payment", ev.Payment.ID, "error", err)
		}
		return
	}
	if err := g.observe(ctx, rec, ev.Payment); err != nil {
		g.log.WarnContext(ctx, "gate: queue postback", "gate_payment", rec.ID, "error", err)
	}
}
