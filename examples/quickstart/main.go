// Command quickstart shows the library end to end with no credentials and no
// network: a SQLite ledger in a temporary directory, the Stripe driver's
// webhook handler on a real HTTP server on loopback, and Stripe events signed
// the way Stripe signs them posted to it — a payment, the same event again, a
// partial refund, a tampered payment, and a payment that names no account,
// which is parked until the host credits it with Service.Attribute. The
// driver needs no API key for webhooks and never calls Stripe while handling
// one.
//
//	go run ./examples/quickstart
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/store/sqlite"
	"github.com/payrail/payments/webhook"
)

// webhookSecret is what the Dashboard shows as the endpoint's signing secret.
const webhookSecret = "whsec_quickstart"

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "payments-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	store, err := sqlite.Open(ctx, dir+"/ledger.db", sqlite.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	gateway, err := stripe.New(stripe.Config{WebhookSecrets: []string{webhookSecret}})
	if err != nil {
		return err
	}
	host := payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		fmt.Fprintf(out, "  host applied %s: %s %s to %s\n", e.ID, e.Kind, e.Amount, e.Account)
		return nil
	})
	svc, err := payments.New(store, payments.WithGateway(gateway), payments.WithBalanceService(host))
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	webhook.Mount(mux, svc) // POST /stripe-handleWebhookEvents
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown(ctx)
	url := "http://" + ln.Addr().String() + "/stripe-handleWebhookEvents"
	fmt.Fprintf(out, "ledger %s, webhooks at %s\n\n", dir+"/ledger.db", url)

	paid := paymentSucceeded("evt_quickstart_1", "pi_quickstart_1", 2500)
	tampered := sign(paymentSucceeded("evt_quickstart_3", "pi_quickstart_2", 100))
	tampered.body = bytes.Replace(tampered.body, []byte(`"amount_received": 100,`), []byte(`"amount_received": 100000,`), 1)
	deliveries := []struct {
		what string
		req  signedEvent
	}{
		{"payment_intent.succeeded, 25.00 USD for user-42", sign(paid)},
		{"the same event again (Stripe redelivers)", sign(paid)},
		{"refund.updated, a partial refund of 5.50 USD succeeded", sign(refundSucceeded("evt_quickstart_2", "re_quickstart_1", "pi_quickstart_1", 550))},
		{"payment_intent.succeeded, amount edited after signing", tampered},
		{"payment_intent.succeeded, 10.00 USD from a Payment Link, no account in its metadata", sign(paymentLinkSucceeded("evt_quickstart_4", "pi_quickstart_3", 1000))},
	}
	for _, d := range deliveries {
		fmt.Fprintf(out, "POST %s\n", d.what)
		status, body, err := post(ctx, url, d.req)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  -> %s %s\n", status, strings.TrimSpace(body))
	}
	if err := attributeParked(ctx, out, svc); err != nil {
		return err
	}
	return report(ctx, out, svc)
}

// attributeParked credits the money that arrived without an account. A
// host learns whose it is elsewhere (here: the customer wrote in with the
// Payment Link's receipt) and says so with one call, which records it
// through the ledger's rules and marks the parked row resolved.
func attributeParked(ctx context.Context, out io.Writer, svc *payments.Service) error {
	parked, _, err := svc.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	if err != nil {
		return err
	}
	if len(parked) != 1 {
		return fmt.Errorf("%d notifications wait to be attributed, want 1", len(parked))
	}
	n := parked[0]
	fmt.Fprintf(out, "\nparked: %s %s (%s)\n", n.ID, n.EventID, n.Detail)
	res, err := svc.Attribute(ctx, n.ID, payments.Attribution{Account: "user-42", Reference: "order:672627:p9x8w7"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "svc.Attribute(%s, user-42) -> %s, %d entry recorded\n", n.ID, res.Notification.Outcome, len(res.Recorded.Entries))
	// The same call again, as a host that retries would make it: nothing is
	// recorded twice.
	again, err := svc.Attribute(ctx, n.ID, payments.Attribution{Account: "user-42", Reference: "order:672627:p9x8w7"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "svc.Attribute again -> %s\n", again.Notification.Outcome)
	if res.Notification.Outcome != payments.OutcomeRecorded || again.Notification.Outcome != payments.OutcomeDuplicate {
		return fmt.Errorf("attribution outcomes %s then %s, want recorded then duplicate", res.Notification.Outcome, again.Notification.Outcome)
	}
	return nil
}

func post(ctx context.Context, url string, ev signedEvent) (string, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(ev.body))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(stripe.SignatureHeader, ev.signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.Status, string(body), err
}

// report prints the journal, the ledger and the balance, and fails unless
// they hold exactly what was delivered and attributed.
func report(ctx context.Context, out io.Writer, svc *payments.Service) error {
	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\njournal (newest first):")
	var outcomes []payments.Outcome
	for _, n := range journal {
		fmt.Fprintf(out, "  %s  %-9s verified=%-5t %-17s %s\n", n.ID, n.Outcome, n.Verified, n.EventID, describe(n))
		outcomes = append(outcomes, n.Outcome)
	}
	entries, err := entriesOf(ctx, svc, "user-42")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nledger entries of user-42 (read in pages of two):")
	for _, e := range entries {
		fmt.Fprintf(out, "  %-7s %8s %s  ref=%s  %s\n", e.Kind, e.Amount.Decimal(), e.Amount.Currency, e.GatewayRef, e.Reference)
	}
	bal, err := svc.Balance(ctx, "user-42", "USD")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nbalance of user-42: %s (%d entries)\n", bal.Money, bal.Entries)
	waiting, _, err := svc.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	if err != nil {
		return err
	}

	want := []payments.Outcome{payments.OutcomeDuplicate, payments.OutcomeRecorded, payments.OutcomeParked,
		payments.OutcomeRejected, payments.OutcomeRecorded, payments.OutcomeDuplicate, payments.OutcomeRecorded}
	amounts := make([]int64, 0, len(entries))
	for _, e := range entries {
		amounts = append(amounts, e.Amount.Amount)
	}
	switch {
	case !slices.Equal(outcomes, want):
		return fmt.Errorf("journal outcomes %v, want %v", outcomes, want)
	case !slices.Equal(amounts, []int64{2500, -550, 1000}):
		return fmt.Errorf("the ledger does not hold the charge, the refund and the attributed charge: %v", entries)
	case bal.Money != payments.Money{Amount: 2950, Currency: "USD"}:
		return fmt.Errorf("balance %s, want 29.50 USD", bal.Money)
	case len(waiting) != 0:
		return fmt.Errorf("%d parked notifications still wait after the attribution", len(waiting))
	}
	return nil
}

// describe says what became of a journal row beyond its outcome.
func describe(n payments.Notification) string {
	var parts []string
	if n.Detail != "" {
		parts = append(parts, n.Detail)
	}
	if n.ReplayOf != "" {
		parts = append(parts, "replays "+n.ReplayOf)
	}
	if n.ResolvedBy != "" {
		parts = append(parts, "resolved by "+n.ResolvedBy)
	}
	return strings.Join(parts, "; ")
}

// entriesOf reads every entry of an account, following the listing's
// cursor. Pages of two show the cursor at work; a host reads pages of
// hundreds.
func entriesOf(ctx context.Context, svc *payments.Service, account string) ([]payments.Entry, error) {
	var all []payments.Entry
	f := payments.EntryFilter{Account: account, Limit: 2}
	for {
		page, next, err := svc.Entries(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		f.After = next
	}
}
