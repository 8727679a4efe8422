package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/gatepg"
	"github.com/payrail/payments/gate/gatesqlite"
	"github.com/payrail/payments/internal/remoteip"
)

// The payment gate (package gate) runs inside the server when
// GATE_ENABLED=true:
//
//   - GATE_BASE_URL: the gate's public URL, with a path of its own
//     ("https://pay.example.com/gate"); the gate's routes are mounted under
//     that path, beside the server's own.
//   - GATE_MERCHANTS: merchants, as a JSON array or the path of a file
//     holding one (see gateMerchant); optional. They are saved to the
//     gate's store at every start, tokens included, so the list is the
//     source of truth for the merchants it names, which the operator's
//     routes only read. The others are managed through those routes,
//     /gate/merchants behind API_TOKEN (gate_admin.go).
//   - GATE_POSTBACK_ALLOW: CIDR prefixes postbacks may reach although the
//     SSRF guard refuses them (an intranet; 127.0.0.1/32 for local tests),
//     which also admits http:// URLs.
//   - STREAM_KEY, when set, signs the return pages' status streams on every
//     instance alike (without it each instance draws its own key).
//
// The gate's tables (gate_*) live where the payments store's do: the
// PostgreSQL of DATABASE_URL, or else the SQLite file of SQLITE_PATH. The
// payments stores do not hand out their connections, so the gate opens its
// own on the same DSN or path. STREAM_KEY, API_TOKEN and the store are the
// server's config (config.go); only the GATE_ variables are read here.

// gateMerchant is one merchant in GATE_MERCHANTS.
type gateMerchant struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Gateways []string `json:"gateways"`
	// Tokens are the merchant's API tokens ("gtk_…", from `openssl rand`
	// or gate.NewToken) or, better, TokenSHA256 their SHA-256 in hex, so
	// that the environment does not hold the token itself.
	Tokens      []string `json:"tokens"`
	TokenSHA256 []string `json:"tokenSha256"`
	// PostbackSecrets sign postbacks ("whsec_…"); the first signs, and a
	// second during a rotation.
	PostbackSecrets []string `json:"postbackSecrets"`
	Disabled        bool     `json:"disabled"`
}

// gateServer is a started gate: done is closed once Run has returned and
// the gate's store is closed.
type gateServer struct {
	gate   *gate.Gate
	prefix string
	done   chan struct{}
	// admin serves the operator's merchant routes, behind apiToken
	// (API_TOKEN, which the JSON API is behind too).
	admin    *gateAdmin
	apiToken string
}

// mountGate mounts the gate on srv.Handler when GATE_ENABLED=true and runs
// its postbacks until ctx ends; the gate's open streams end when srv
// starts shutting down.
func mountGate(ctx context.Context, cfg *config, env env, svc *payments.Service, srv *http.Server, log *slog.Logger) error {
	gs, err := startGate(ctx, cfg, env, svc, log)
	if err != nil || gs == nil {
		return err
	}
	srv.RegisterOnShutdown(gs.gate.Close)
	srv.Handler = gs.mount(srv.Handler)
	log.Info("payment gate mounted", "path", gs.prefix+"/")
	return nil
}

// mount routes the gate's path to the gate, the operator's merchant routes
// to the admin and everything else to next. The admin's patterns are more
// specific than the gate's path when that is /gate, so they win there too.
func (gs *gateServer) mount(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(gs.prefix+"/", http.StripPrefix(gs.prefix, gs.gate.Handler()))
	admin := requireToken(gs.apiToken, gs.admin.routes())
	mux.Handle(gateAdminPath, admin)
	mux.Handle(gateAdminPath+"/", admin)
	mux.Handle("/", next)
	return mux
}

// startGate builds the gate from cfg and the GATE_ variables, or returns
// nil when GATE_ENABLED is not true.
func startGate(ctx context.Context, cfg *config, env env, svc *payments.Service, log *slog.Logger) (*gateServer, error) {
	if on, err := strconv.ParseBool(envOr(env, "GATE_ENABLED", "false")); err != nil || !on {
		if err != nil {
			return nil, fmt.Errorf("GATE_ENABLED=%q is not a boolean (true, false, 1, 0)", env("GATE_ENABLED"))
		}
		return nil, nil
	}
	base := strings.TrimSuffix(env("GATE_BASE_URL"), "/")
	u, err := url.Parse(base)
	if base == "" || err != nil || u.Host == "" || u.Path == "" {
		return nil, errors.New("GATE_BASE_URL must be the gate's public URL with a path of its own, such as https://pay.example.com/gate")
	}
	if u.Path == gateAdminPath || strings.HasPrefix(u.Path, gateAdminPath+"/") {
		return nil, fmt.Errorf("GATE_BASE_URL's path must not be under %s, the operator's merchant routes", gateAdminPath)
	}
	merchants, err := gateMerchantsFromEnv(env)
	if err != nil {
		return nil, err
	}
	var allow []netip.Prefix
	if list := strings.FieldsFunc(env("GATE_POSTBACK_ALLOW"), func(r rune) bool { return r == ',' || r == ' ' }); len(list) > 0 {
		if allow, err = remoteip.ParsePrefixes(list); err != nil {
			return nil, fmt.Errorf("GATE_POSTBACK_ALLOW: %v", err)
		}
	}
	store, closeStore, err := openGateStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	envManaged, err := saveEnvMerchants(ctx, store, merchants)
	if err != nil {
		closeStore()
		return nil, err
	}
	g, err := gate.New(svc, gate.Config{BaseURL: base, Merchants: store, Records: store, PostbackAllow: allow,
		StreamKey: cfg.streamKey, Logger: log.With("component", "gate")})
	if err != nil {
		closeStore()
		return nil, err
	}
	gs := &gateServer{gate: g, prefix: u.Path, done: make(chan struct{}), apiToken: cfg.apiToken,
		admin: newGateAdmin(store, envManaged, svc.GatewayNames(), log.With("component", "gate-admin"))}
	go func() {
		defer close(gs.done)
		defer closeStore()
		_ = g.Run(ctx)
	}()
	return gs, nil
}

// gateStore is what the gate keeps: both gate stores are one, and lists
// and updates merchants for the operator's routes.
type gateStore interface {
	gate.MerchantStore
	gate.MerchantAdminStore
	gate.RecordStore
}

// openGateStore opens the gate's tables where the payments store keeps
// its own (openStore).
func openGateStore(ctx context.Context, cfg *config) (gateStore, func(), error) {
	if cfg.databaseURL != "" {
		s, err := gatepg.Open(ctx, cfg.databaseURL)
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	}
	s, err := gatesqlite.Open(ctx, cfg.sqlitePath, gatesqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { _ = s.Close() }, nil
}

// saveEnvMerchants saves the merchants GATE_MERCHANTS declares and returns
// their ids. The declaration is the truth for everything but the times the
// store already holds: a restart keeps when a merchant was created, when it
// was disabled if it still is, and when each of its tokens was created, so
// that the operator's routes show the same times before and after.
func saveEnvMerchants(ctx context.Context, store gate.MerchantStore, merchants []gate.Merchant) (map[string]bool, error) {
	envManaged := map[string]bool{}
	for i := range merchants {
		m := &merchants[i]
		envManaged[m.ID] = true
		stored, err := store.Merchant(ctx, m.ID)
		switch {
		case err == nil:
			keepStoredTimes(m, stored)
		case !errors.Is(err, payments.ErrNotFound):
			return nil, fmt.Errorf("GATE_MERCHANTS: read %q: %w", m.ID, err)
		}
		if err := store.SaveMerchant(ctx, m); err != nil {
			return nil, fmt.Errorf("GATE_MERCHANTS: save %q: %w", m.ID, err)
		}
	}
	return envManaged, nil
}

// keepStoredTimes puts on m, freshly declared, the times stored holds for
// it. A token keeps its time only while its id names the same hash.
func keepStoredTimes(m, stored *gate.Merchant) {
	m.CreatedAt = stored.CreatedAt
	if !m.DisabledAt.IsZero() && !stored.DisabledAt.IsZero() {
		m.DisabledAt = stored.DisabledAt
	}
	for i := range m.Tokens {
		t := &m.Tokens[i]
		if j := slices.IndexFunc(stored.Tokens, func(s gate.Token) bool { return s.ID == t.ID && s.Hash == t.Hash }); j >= 0 {
			t.CreatedAt = stored.Tokens[j].CreatedAt
		}
	}
}

// gateMerchantsFromEnv reads GATE_MERCHANTS: a JSON array, or the path of
// a file holding one; none when it is unset, for a gate whose merchants are
// all managed through the operator's routes.
func gateMerchantsFromEnv(env env) ([]gate.Merchant, error) {
	raw := strings.TrimSpace(env("GATE_MERCHANTS"))
	if raw == "" {
		return nil, nil
	}
	data := []byte(raw)
	if !strings.HasPrefix(raw, "[") {
		var err error
		if data, err = os.ReadFile(raw); err != nil {
			return nil, fmt.Errorf("GATE_MERCHANTS: %w", err)
		}
	}
	var list []gateMerchant
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		// encoding/json names a field or a character, never a value: the
		// list holds secrets.
		return nil, fmt.Errorf("GATE_MERCHANTS is not a JSON array of merchants: %w", err)
	}
	out := make([]gate.Merchant, 0, len(list))
	for _, m := range list {
		gm, err := m.merchant()
		if err != nil {
			return nil, fmt.Errorf("GATE_MERCHANTS: merchant %q: %w", m.ID, err)
		}
		out = append(out, gm)
	}
	return out, nil
}

func (m gateMerchant) merchant() (gate.Merchant, error) {
	if m.ID == "" || len(m.Gateways) == 0 || len(m.PostbackSecrets) == 0 {
		return gate.Merchant{}, errors.New("id, gateways and postbackSecrets are required")
	}
	now := time.Now().UTC()
	out := gate.Merchant{ID: m.ID, Name: m.Name, Gateways: m.Gateways, PostbackSecrets: m.PostbackSecrets, CreatedAt: now}
	if m.Disabled {
		out.DisabledAt = now
	}
	var hashes [][sha256.Size]byte
	for _, t := range m.Tokens {
		if !strings.HasPrefix(t, gate.TokenPrefix) {
			return gate.Merchant{}, fmt.Errorf("a token does not start with %s", gate.TokenPrefix)
		}
		hashes = append(hashes, sha256.Sum256([]byte(t)))
	}
	for _, h := range m.TokenSHA256 {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return gate.Merchant{}, errors.New("tokenSha256 holds something other than 64 hex digits")
		}
		hashes = append(hashes, [sha256.Size]byte(b))
	}
	if len(hashes) == 0 {
		return gate.Merchant{}, errors.New("tokens or tokenSha256 is required")
	}
	for i, h := range hashes {
		// Token ids are stable across restarts, so that a token's id names
		// the same token in logs and revocations.
		out.Tokens = append(out.Tokens, gate.Token{ID: fmt.Sprintf("tok_env_%s_%d", hex.EncodeToString(h[:4]), i), Hash: h, CreatedAt: now})
	}
	return out, nil
}
