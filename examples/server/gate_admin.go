package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

// The operator manages the gate's merchants through /gate/merchants, behind
// API_TOKEN like the other operator routes, when the gate is enabled. They
// are the server's routes, not the gate's: they answer at /gate/merchants
// whatever GATE_BASE_URL's path is, and are never served to merchants.
//
// Who owns a merchant: GATE_MERCHANTS is declarative, saved at every start,
// so a merchant it lists is what the list says. The routes therefore only
// read such a merchant and refuse to change it (409): a token they revoked
// or a secret they dropped would otherwise come back at the next restart,
// and an edit of the list would be silently ignored. Every other merchant —
// created here, or dropped from GATE_MERCHANTS, which leaves it in the store
// with its tokens — is managed here alone, and a restart leaves it as it is.
// Listing an id in GATE_MERCHANTS takes that merchant over at the next start.
//
// Tokens and postback secrets are shown once, in the answer that creates
// them; afterwards only their ids are. A token's id is gate.Token.ID; a
// secret's is a fingerprint (secretID), stable however the list changes.

// gateAdminPath is where the operator's merchant routes are mounted.
const gateAdminPath = "/gate/merchants"

// gateAdmin serves the operator's merchant routes over the gate's store.
type gateAdmin struct {
	store gateStore
	// envManaged are the ids GATE_MERCHANTS lists: read-only here.
	envManaged map[string]bool
	// gateways are the Service's gateways, the only ones a merchant may be
	// given.
	gateways []string
	log      *slog.Logger
	// errs answers errors as the JSON API does (api.fail).
	errs *api
	now  func() time.Time
	// mu serializes this instance's read, change and write of a merchant's
	// fields (gateways, secrets, disabling) and its creations. Tokens need
	// no lock: the store adds and revokes each in one statement, and
	// UpdateMerchant never writes them. Several instances editing one
	// merchant at the same moment may lose one edit of its fields; the
	// answer shows what was saved.
	mu sync.Mutex
}

func newGateAdmin(store gateStore, envManaged map[string]bool, gateways []string, log *slog.Logger) *gateAdmin {
	return &gateAdmin{store: store, envManaged: envManaged, gateways: gateways, log: log,
		errs: &api{log: log},
		// Microseconds, as the SQL stores keep times, so that an answer shows
		// the times a later read will.
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

func (ga *gateAdmin) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+gateAdminPath, ga.list)
	mux.HandleFunc("POST "+gateAdminPath, ga.create)
	mux.HandleFunc("GET "+gateAdminPath+"/{id}", ga.show)
	mux.HandleFunc("POST "+gateAdminPath+"/{id}/tokens", ga.issueToken)
	mux.HandleFunc("DELETE "+gateAdminPath+"/{id}/tokens/{token}", ga.revokeToken)
	mux.HandleFunc("POST "+gateAdminPath+"/{id}/secrets", ga.addSecret)
	mux.HandleFunc("DELETE "+gateAdminPath+"/{id}/secrets/{secret}", ga.dropSecret)
	mux.HandleFunc("POST "+gateAdminPath+"/{id}/disable", ga.setDisabled(true))
	mux.HandleFunc("POST "+gateAdminPath+"/{id}/enable", ga.setDisabled(false))
	mux.HandleFunc("PUT "+gateAdminPath+"/{id}/gateways", ga.setGateways)
	return mux
}

// list pages through the merchants by id: ?limit=&after=.
func (ga *gateAdmin) list(w http.ResponseWriter, r *http.Request) {
	q, limit, err := query(r)
	if badQuery(w, err) {
		return
	}
	if limit == 0 {
		limit = maxPageLimit
	}
	// One more than asked tells whether there is a next page.
	page, err := ga.store.ListMerchants(r.Context(), q.Get("after"), limit+1)
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	next := ""
	if len(page) > limit {
		page = page[:limit]
		next = page[limit-1].ID
	}
	out := make([]map[string]any, 0, len(page))
	for i := range page {
		out = append(out, ga.merchantJSON(&page[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"merchants": out, "next": next})
}

func (ga *gateAdmin) show(w http.ResponseWriter, r *http.Request) {
	m, err := ga.store.Merchant(r.Context(), r.PathValue("id"))
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ga.merchantJSON(m))
}

// createMerchantRequest is the body of POST /gate/merchants.
type createMerchantRequest struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Gateways []string `json:"gateways"`
}

// create adds a merchant with one token and one postback secret, both
// answered this once.
func (ga *gateAdmin) create(w http.ResponseWriter, r *http.Request) {
	var req createMerchantRequest
	if !decode(w, r, &req) {
		return
	}
	if err := errors.Join(checkMerchantID(req.ID), ga.checkGateways(req.Gateways)); err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	now := ga.now()
	token, tok, err := gate.NewToken(now)
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	secret, err := gate.NewPostbackSecret()
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	m := &gate.Merchant{ID: req.ID, Name: req.Name, Gateways: req.Gateways, PostbackSecrets: []string{secret},
		Tokens: []gate.Token{tok}, CreatedAt: now}
	if err := ga.insert(r.Context(), m); err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	ga.log.InfoContext(r.Context(), "gate: merchant created", "merchant", m.ID, "token_id", tok.ID)
	noStore(w)
	writeJSON(w, http.StatusCreated, map[string]any{"merchant": ga.merchantJSON(m),
		"token": token, "token_id": tok.ID, "postback_secret": secret, "secret_id": secretID(secret)})
}

// insert saves m unless a merchant has its id: SaveMerchant would replace
// that merchant's tokens.
func (ga *gateAdmin) insert(ctx context.Context, m *gate.Merchant) error {
	ga.mu.Lock()
	defer ga.mu.Unlock()
	if err := ga.checkManaged(m.ID); err != nil {
		return err
	}
	_, err := ga.store.Merchant(ctx, m.ID)
	if err == nil {
		return fmt.Errorf("gate: merchant %q exists: %w", m.ID, payments.ErrConflict)
	}
	if !errors.Is(err, payments.ErrNotFound) {
		return err
	}
	return ga.store.SaveMerchant(ctx, m)
}

// issueToken adds a token, answered this once; the merchant's other
// tokens keep working until they are revoked, so that it can roll the new
// one out first.
func (ga *gateAdmin) issueToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !decode(w, r, &struct{}{}) {
		return
	}
	if err := ga.checkManaged(id); err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	token, tokenID, err := gate.IssueToken(r.Context(), ga.store, id, ga.now())
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	ga.log.InfoContext(r.Context(), "gate: token issued", "merchant", id, "token_id", tokenID)
	m, err := ga.store.Merchant(r.Context(), id)
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusCreated, map[string]any{"merchant": ga.merchantJSON(m), "token": token, "token_id": tokenID})
}

// revokeToken refuses a token from now on; revoking it again is no error.
func (ga *gateAdmin) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, tokenID := r.PathValue("id"), r.PathValue("token")
	if err := ga.checkManaged(id); err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	if err := ga.store.RevokeToken(r.Context(), id, tokenID, ga.now()); err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	ga.log.InfoContext(r.Context(), "gate: token revoked", "merchant", id, "token_id", tokenID)
	ga.show(w, r)
}

// addSecret adds a postback secret, answered this once. Postbacks are
// signed with every secret from the next attempt on, so that the merchant
// verifies with the old one until it has deployed the new one, then drops
// the old one.
func (ga *gateAdmin) addSecret(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}) {
		return
	}
	secret, err := gate.NewPostbackSecret()
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	m, err := ga.update(r.Context(), r.PathValue("id"), func(m *gate.Merchant) error {
		m.PostbackSecrets = append(m.PostbackSecrets, secret)
		return nil
	})
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	ga.log.InfoContext(r.Context(), "gate: postback secret added", "merchant", m.ID, "secret_id", secretID(secret))
	noStore(w)
	writeJSON(w, http.StatusCreated, map[string]any{"merchant": ga.merchantJSON(m), "postback_secret": secret,
		"secret_id": secretID(secret)})
}

// dropSecret stops signing with a secret. The last one stays: a postback
// must be signed.
func (ga *gateAdmin) dropSecret(w http.ResponseWriter, r *http.Request) {
	drop := r.PathValue("secret")
	m, err := ga.update(r.Context(), r.PathValue("id"), func(m *gate.Merchant) error {
		i := slices.IndexFunc(m.PostbackSecrets, func(s string) bool { return secretID(s) == drop })
		if i < 0 {
			return fmt.Errorf("gate: postback secret %q of merchant %q: %w", drop, m.ID, payments.ErrNotFound)
		}
		if len(m.PostbackSecrets) == 1 {
			return fmt.Errorf("gate: %q is merchant %q's only postback secret; add its successor first: %w", drop, m.ID, payments.ErrConflict)
		}
		m.PostbackSecrets = slices.Delete(m.PostbackSecrets, i, i+1)
		return nil
	})
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	ga.log.InfoContext(r.Context(), "gate: postback secret dropped", "merchant", m.ID, "secret_id", drop)
	writeJSON(w, http.StatusOK, ga.merchantJSON(m))
}

// setDisabled disables a merchant, which refuses its API calls (its
// payments already started still settle and are posted back), or enables
// it again.
func (ga *gateAdmin) setDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !decode(w, r, &struct{}{}) {
			return
		}
		m, err := ga.update(r.Context(), r.PathValue("id"), func(m *gate.Merchant) error {
			switch {
			case !disabled:
				m.DisabledAt = time.Time{}
			case m.DisabledAt.IsZero(): // disabling again keeps the first time
				m.DisabledAt = ga.now()
			}
			return nil
		})
		if err != nil {
			ga.errs.fail(w, r, err)
			return
		}
		ga.log.InfoContext(r.Context(), "gate: merchant changed", "merchant", m.ID, "disabled", disabled)
		writeJSON(w, http.StatusOK, ga.merchantJSON(m))
	}
}

// setGateways replaces the gateways a merchant may use, in the order its
// customers' choice page lists them.
func (ga *gateAdmin) setGateways(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Gateways []string `json:"gateways"`
	}
	if !decode(w, r, &req) {
		return
	}
	if err := ga.checkGateways(req.Gateways); err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	m, err := ga.update(r.Context(), r.PathValue("id"), func(m *gate.Merchant) error {
		m.Gateways = req.Gateways
		return nil
	})
	if err != nil {
		ga.errs.fail(w, r, err)
		return
	}
	ga.log.InfoContext(r.Context(), "gate: merchant changed", "merchant", m.ID, "gateways", m.Gateways)
	writeJSON(w, http.StatusOK, ga.merchantJSON(m))
}

// update reads merchant id, lets change edit its fields and saves them,
// leaving its tokens as the store has them.
func (ga *gateAdmin) update(ctx context.Context, id string, change func(*gate.Merchant) error) (*gate.Merchant, error) {
	if err := ga.checkManaged(id); err != nil {
		return nil, err
	}
	ga.mu.Lock()
	defer ga.mu.Unlock()
	m, err := ga.store.Merchant(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := change(m); err != nil {
		return nil, err
	}
	if err := ga.store.UpdateMerchant(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// checkManaged refuses to change a merchant GATE_MERCHANTS lists (see the
// comment at the top of this file).
func (ga *gateAdmin) checkManaged(id string) error {
	if ga.envManaged[id] {
		return fmt.Errorf("gate: merchant %q is managed by GATE_MERCHANTS: change it there and restart, or remove it there to manage it here: %w",
			id, payments.ErrConflict)
	}
	return nil
}

// checkGateways accepts one or more of the Service's gateways, each once.
func (ga *gateAdmin) checkGateways(gateways []string) error {
	if len(gateways) == 0 {
		return fmt.Errorf("gateways: give at least one of %v: %w", ga.gateways, payments.ErrInvalidInput)
	}
	for i, g := range gateways {
		if !slices.Contains(ga.gateways, g) {
			return fmt.Errorf("gateways: %q is not one of the server's gateways %v: %w", g, ga.gateways, payments.ErrInvalidInput)
		}
		if slices.Contains(gateways[:i], g) {
			return fmt.Errorf("gateways: %q is listed twice: %w", g, payments.ErrInvalidInput)
		}
	}
	return nil
}

// checkMerchantID accepts ids that fit in a URL path segment as they are:
// the id is addressed by these routes and is the merchant's ledger account.
func checkMerchantID(id string) error {
	ok := id != "" && len(id) <= 64
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("id: 1 to 64 letters, digits, '-', '_' or '.': %w", payments.ErrInvalidInput)
	}
	return nil
}

// secretID names a postback secret without revealing it: "sec_" and the
// first 6 bytes of its SHA-256, which an operator matches against the one
// a merchant holds (printf %s "$secret" | sha256sum).
func secretID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sec_" + hex.EncodeToString(sum[:6])
}

// merchantJSON is a merchant as the operator sees it: token ids and secret
// ids, never a token, a token's hash or a secret.
func (ga *gateAdmin) merchantJSON(m *gate.Merchant) map[string]any {
	managedBy := "api"
	if ga.envManaged[m.ID] {
		managedBy = "GATE_MERCHANTS"
	}
	tokens := make([]map[string]any, 0, len(m.Tokens))
	for _, t := range m.Tokens {
		tok := map[string]any{"id": t.ID, "created_at": t.CreatedAt, "revoked": !t.RevokedAt.IsZero()}
		if !t.RevokedAt.IsZero() {
			tok["revoked_at"] = t.RevokedAt
		}
		tokens = append(tokens, tok)
	}
	secrets := make([]map[string]any, 0, len(m.PostbackSecrets))
	for _, s := range m.PostbackSecrets {
		secrets = append(secrets, map[string]any{"id": secretID(s)})
	}
	out := map[string]any{"id": m.ID, "name": m.Name, "gateways": m.Gateways, "created_at": m.CreatedAt,
		"disabled": !m.DisabledAt.IsZero(), "managed_by": managedBy, "tokens": tokens, "postback_secrets": secrets}
	if !m.DisabledAt.IsZero() {
		out["disabled_at"] = m.DisabledAt
	}
	return out
}

// noStore keeps an answer that holds a token or a secret out of caches.
func noStore(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }
