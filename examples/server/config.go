package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/gatewayenv"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
)

// env reads one environment variable; os.Getenv in main, a map in tests.
type env func(name string) string

// config is everything the server reads from the environment.
type config struct {
	addr        string
	databaseURL string // PostgreSQL when set
	sqlitePath  string
	apiToken    string
	streamKey   []byte // STREAM_KEY; nil: no live status (stream.go)
	gateways    []payments.Gateway
}

// loadConfig reads the environment; at least one gateway must be enabled.
func loadConfig(env env, log *slog.Logger) (*config, error) {
	cfg, err := loadSettings(env)
	if err != nil {
		return nil, err
	}
	// The operator command (cmd/payments) builds the drivers from the same
	// variables through the same package, to re-verify what these journal.
	if cfg.gateways, err = gatewayenv.FromEnv(env, log); err != nil {
		return nil, err
	}
	if len(cfg.gateways) == 0 {
		vars := gatewayenv.EnabledVars()
		return nil, fmt.Errorf("no gateway is enabled: set %s or %s to true, with the variables each needs (see README)",
			strings.Join(vars[:len(vars)-1], ", "), vars[len(vars)-1])
	}
	return cfg, nil
}

// loadSettings reads everything but the gateways, so that the gate's tests,
// which bring a fake gateway, start from the settings the server uses.
func loadSettings(env env) (*config, error) {
	cfg := &config{
		addr:        envOr(env, "ADDR", ":8080"),
		databaseURL: env("DATABASE_URL"),
		sqlitePath:  envOr(env, "SQLITE_PATH", "./payments.db"),
		apiToken:    env("API_TOKEN"),
	}
	var err error
	if cfg.streamKey, err = streamKeyFromEnv(env); err != nil {
		return nil, err
	}
	return cfg, nil
}

// openStore opens PostgreSQL when DATABASE_URL is set, else the SQLite file.
func openStore(ctx context.Context, cfg *config) (payments.Store, string, error) {
	if cfg.databaseURL != "" {
		s, err := postgres.Open(ctx, cfg.databaseURL, postgres.Options{})
		return s, "postgres", err
	}
	s, err := sqlite.Open(ctx, cfg.sqlitePath, sqlite.Options{})
	return s, "sqlite " + cfg.sqlitePath, err
}

func envOr(env env, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}
