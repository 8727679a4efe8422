// Command server is a host app built on the library, configured from
// environment variables (see README.md, "Example server"): the gateways'
// webhooks at /{gateway}-handleWebhookEvents, a small JSON API to check out,
// capture, cancel and refund payments and read balances, the operator's
// routes (the journal, crediting parked money with
// POST /notifications/{id}/attribute, the ledger, the outbox), /status,
// and, when STREAM_KEY is set, a payment's live status at
// GET /payments/{id}/events (stream.go).
//
//	STRIPE_ENABLED=true STRIPE_SECRET_KEY=sk_test_… STRIPE_WEBHOOK_SECRET=whsec_… go run ./examples/server
//
// It stops gracefully on SIGINT or SIGTERM: no new requests, in-flight ones
// finish, then the sync loop and the store close.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/payrail/payments"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, log); err != nil {
		log.Error("server stopped", "error", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, env env, log *slog.Logger) error {
	cfg, err := loadConfig(env, log)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	store, storeName, err := openStore(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer store.Close()
	svc, err := payments.New(store,
		payments.WithGateway(cfg.gateways...),
		payments.WithBalanceService(logBalance(log)),
		payments.WithLogger(log),
	)
	if err != nil {
		return err
	}
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	runDone := make(chan error, 1)
	go func() { runDone <- svc.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	if cfg.apiToken == "" {
		log.Warn("API_TOKEN is not set: the JSON API, refunds and attributions included, is open to anyone who can reach " + cfg.addr)
	}
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	srv.Handler = newHandler(svc, cfg.apiToken, log, withStream(cfg.streamKey, srv.RegisterOnShutdown))
	if err := mountGate(runCtx, cfg, env, svc, srv, log); err != nil { // GATE_ENABLED=true: the payment gate (gate.go)
		return fmt.Errorf("gate: %w", err)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "gateways", svc.GatewayNames(), "store", storeName)

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logBalance stands in for the host's own BalanceService: a real host makes
// its state reflect the entry here (credit a balance, mark an order paid),
// idempotently on e.ID.
func logBalance(log *slog.Logger) payments.BalanceService {
	return payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		log.InfoContext(ctx, "entry to apply", "entry", e.ID, "kind", e.Kind, "account", e.Account,
			"amount", e.Amount.String(), "reference", e.Reference)
		return nil
	})
}
