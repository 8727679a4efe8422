package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
	"github.com/payrail/payments/webhook"
)

const secret = "whsec_bench"

// target is one server under load.
type target struct {
	name, label string
	url         string
	srv         *http.Server
	cleanup     []func()
}

func (t *target) close() {
	_ = t.srv.Close()
	for i := len(t.cleanup) - 1; i >= 0; i-- {
		t.cleanup[i]()
	}
}

// newTarget starts a loopback server for name; nil when the target cannot be
// measured on this machine (PostgreSQL without a DSN).
func newTarget(ctx context.Context, name string) (*target, error) {
	t := &target{name: name}
	var handler http.Handler
	switch name {
	case "bare":
		t.label, handler = "bare net/http handler", bareHandler()
	default:
		store, label, cleanup, err := openStore(ctx, name)
		if err != nil || store == nil {
			return nil, err
		}
		t.label, t.cleanup = label, append(t.cleanup, cleanup)
		svc, err := payments.New(store, payments.WithGateway(gatewaytest.NewFake(secret)))
		if err != nil {
			t.close()
			return nil, err
		}
		mux := http.NewServeMux()
		webhook.Mount(mux, svc)
		handler = mux
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t.srv = &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	t.url = "http://" + ln.Addr().String() + "/fake-handleWebhookEvents"
	return t, nil
}

// openStore opens a fresh, empty store of the named kind.
func openStore(ctx context.Context, name string) (payments.Store, string, func(), error) {
	switch name {
	case "memory":
		s := memory.New()
		return s, "memory store", func() { _ = s.Close() }, nil
	case "sqlite":
		dir, err := os.MkdirTemp("", "ingestbench-")
		if err != nil {
			return nil, "", nil, err
		}
		s, err := sqlite.Open(ctx, dir+"/bench.db", sqlite.Options{})
		if err != nil {
			return nil, "", nil, err
		}
		return s, "SQLite (WAL fsynced before each ack)", func() { _ = s.Close(); _ = os.RemoveAll(dir) }, nil
	case "postgres":
		dsn := os.Getenv("PAYMENTS_POSTGRES_DSN")
		if dsn == "" {
			return nil, "", nil, nil
		}
		schema := "bench_" + randomHex(6)
		s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
		if err != nil {
			return nil, "", nil, err
		}
		drop := func() {
			_ = s.Close()
			if conn, err := pgx.Connect(ctx, dsn); err == nil {
				_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				_ = conn.Close(ctx)
			}
		}
		return s, "PostgreSQL (synchronous_commit=on)", drop, nil
	}
	return nil, "", nil, fmt.Errorf("unknown target %q", name)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
