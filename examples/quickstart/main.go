// Command quickstart shows the library end to end with no credentials and no
// setup: a SQLite ledger in a temporary directory, webhook handlers on a real
// HTTP server on loopback, and signed notifications posted to them — a
// payment, the same payment again, a partial refund and a tampered one.
//
//	go run ./examples/quickstart
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/sqlite"
	"github.com/payrail/payments/webhook"
)

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

	// The demo gateway signs like Stripe does: an HMAC of a timestamp and
	// the raw body under the webhook secret.
	gateway := gatewaytest.NewFake("whsec_quickstart", gatewaytest.WithName("demo"))
	host := payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		fmt.Fprintf(out, "  host applied %s: %s %s to %s\n", e.ID, e.Kind, e.Amount, e.Account)
		return nil
	})
	svc, err := payments.New(store, payments.WithGateway(gateway), payments.WithBalanceService(host))
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	webhook.Mount(mux, svc) // POST /demo-handleWebhookEvents
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown(ctx)
	url := "http://" + ln.Addr().String() + "/demo-handleWebhookEvents"
	fmt.Fprintf(out, "ledger %s, webhooks at %s\n\n", dir+"/ledger.db", url)

	paid := gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "pi_1001",
		Account: "user-42", Reference: "order:672626:k3j2h1", Amount: "25.00", Currency: "USD"}
	refund := gatewaytest.Event{ID: "evt_2", Type: "refund.succeeded", PaymentID: "pi_1001",
		RefundID: "re_1", Amount: "5.50", Currency: "USD"}
	tampered := gateway.Request(gatewaytest.Event{ID: "evt_3", Type: "payment.succeeded", PaymentID: "pi_1002",
		Account: "user-42", Amount: "1.00", Currency: "USD"}, time.Now())
	tampered.Body = bytes.Replace(tampered.Body, []byte(`"1.00"`), []byte(`"1000.00"`), 1)

	deliveries := []struct {
		what string
		req  *payments.WebhookRequest
	}{
		{"payment of 25.00 USD", gateway.Request(paid, time.Now())},
		{"the same payment again", gateway.Request(paid, time.Now())},
		{"partial refund of 5.50 USD", gateway.Request(refund, time.Now())},
		{"tampered payment (amount edited)", tampered},
	}
	for _, d := range deliveries {
		fmt.Fprintf(out, "POST %s\n", d.what)
		status, body, err := post(ctx, url, d.req)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  -> %s %s\n", status, strings.TrimSpace(body))
	}

	return report(ctx, out, svc)
}

func post(ctx context.Context, url string, req *payments.WebhookRequest) (string, string, error) {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req.Body))
	if err != nil {
		return "", "", err
	}
	httpReq.Header = req.Header
	resp, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.Status, string(body), err
}

func report(ctx context.Context, out io.Writer, svc *payments.Service) error {
	journal, err := svc.Notifications(ctx, payments.NotificationFilter{})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\njournal (newest first):")
	for _, n := range journal {
		fmt.Fprintf(out, "  %s  %-9s verified=%-5t %s %s\n", n.ID, n.Outcome, n.Verified, n.EventID, n.Detail)
	}
	entries, err := svc.Entries(ctx, payments.EntryFilter{Account: "user-42"})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "\nledger entries of user-42:")
	for _, e := range entries {
		fmt.Fprintf(out, "  %-7s %8s %s  ref=%s  %s\n", e.Kind, e.Amount.Decimal(), e.Amount.Currency, e.GatewayRef, e.Reference)
	}
	bal, err := svc.Balance(ctx, "user-42", "USD")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nbalance of user-42: %s (%d entries)\n", bal.Money, bal.Entries)
	if bal.Money.Amount != 1950 || len(entries) != 2 {
		return errors.New("the ledger does not hold what was delivered")
	}
	return nil
}
