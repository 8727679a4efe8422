package crashtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/webhook"
)

// The environment that turns a test binary into a child. The target travels
// in the environment rather than in flags because the test binary's flag set
// is the testing package's.
const (
	roleVar   = "PAYMENTS_CRASHTEST_ROLE"
	storeVar  = "PAYMENTS_CRASHTEST_STORE"
	targetVar = "PAYMENTS_CRASHTEST_TARGET"
	roleChild = "child"
)

const (
	// secret signs the load's notifications; the child's Fake gateway
	// verifies them, so the whole signed path runs.
	secret = "whsec_crashtest"
	// gatewayName is the Fake's default name.
	gatewayName = "fake"
	// listeningPrefix starts the line on which the child announces the
	// address it serves on; other lines on its stdout are kept as output.
	listeningPrefix = "crashtest: listening on "
	// childTestTimeout bounds a child whose parent died without killing it
	// and without closing its stdin.
	childTestTimeout = 3 * time.Minute
)

// webhookPath is where the child mounts the gateway's handler.
func webhookPath(gateway string) string { return "/webhooks/" + gateway }

// Child is the body of a store's TestCrashChild. It returns at once unless
// the environment says this process is a child started by Run; then it opens
// the store with open, serves the Fake gateway's signed webhooks on a
// loopback port it prints on stdout, and serves until it is killed. When its
// stdin is closed it shuts down cleanly instead: that is how Run ends the
// last child, and how a child notices its parent is gone.
func Child(t *testing.T, open OpenFunc) {
	if os.Getenv(roleVar) != roleChild {
		return
	}
	kind, target := os.Getenv(storeVar), os.Getenv(targetVar)
	ctx := context.Background()
	store, err := open(ctx, target)
	require.NoError(t, err, "crashtest child: open %s store", kind)
	// Warnings and errors go to stderr, which the parent shows when the run
	// fails; the load itself should log nothing.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("store", kind)
	svc, err := payments.New(store, payments.WithGateway(gatewaytest.NewFake(secret)), payments.WithLogger(log))
	require.NoError(t, err)
	mux := http.NewServeMux()
	webhook.Mount(mux, svc, webhook.WithLogger(log),
		webhook.WithPattern(func(g string) string { return http.MethodPost + " " + webhookPath(g) }))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stdout, "%s%s\n", listeningPrefix, ln.Addr())

	_, _ = io.Copy(io.Discard, os.Stdin)
	shutdownCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(shutdownCtx), "crashtest child: shut down")
	require.ErrorIs(t, <-served, http.ErrServerClosed)
	require.NoError(t, store.Close(), "crashtest child: close the store")
}
