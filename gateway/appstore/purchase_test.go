package appstore_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/store/memory"
)

// purchaseWorld is a Service over a memory store with one App Store
// Gateway pointed at two fake API environments.
type purchaseWorld struct {
	t                   *testing.T
	g                   *appstore.Gateway
	svc                 *payments.Service
	production, sandbox *fakeAppleAPI
	signers             map[appstore.Environment]*signer
	logs                *bytes.Buffer
}

func newPurchaseWorld(t *testing.T, env appstore.Environment, mutate ...func(*appstore.Config)) *purchaseWorld {
	w := &purchaseWorld{t: t, production: newFakeAppleAPI(t, appstore.Production), sandbox: newFakeAppleAPI(t, appstore.Sandbox),
		signers: map[appstore.Environment]*signer{appstore.Production: newSigner(t, appstore.Production), appstore.Sandbox: newSigner(t, appstore.Sandbox)},
		logs:    &bytes.Buffer{}}
	w.g = newGateway(t, append([]func(*appstore.Config){
		func(c *appstore.Config) {
			c.Environment = env
			c.Logger = slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		},
		apiConfig(t, w.production, w.sandbox),
	}, mutate...)...)
	var err error
	w.svc, err = payments.New(memory.New(), payments.WithGateway(w.g))
	require.NoError(t, err)
	return w
}

// transaction signs a transaction of env and makes that environment's
// fake API hold it.
func (w *purchaseWorld) transaction(env appstore.Environment, edits map[string]any) (id, signed string) {
	id = newTransactionID()
	s := w.signers[env]
	tx := s.transaction(id, time.Now(), map[string]any{"appAccountToken": nil}) // the caller's account, unless edits set one
	signed = s.chain.sign(w.t, mustJSON(w.t, edit(tx, edits)))
	api := w.production
	if env == appstore.Sandbox {
		api = w.sandbox
	}
	api.hold(id, signed)
	return id, signed
}

func (w *purchaseWorld) verify(req payments.PurchaseRequest) (*payments.OperationResult, error) {
	return w.svc.VerifyPurchase(context.Background(), w.g.Name(), req)
}

func (w *purchaseWorld) entries() []payments.Entry {
	page, _, err := w.svc.Entries(context.Background(), payments.EntryFilter{Gateway: w.g.Name()})
	require.NoError(w.t, err)
	return page
}

func TestVerifyPurchase(t *testing.T) {
	t.Run("found in production: credited once, whoever reports it", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		id, _ := w.transaction(appstore.Production, map[string]any{"appAccountToken": nil})
		res, err := w.verify(payments.PurchaseRequest{Account: "user-42", Reference: "coins:100:x", ProductID: "com.example.product", Token: id})
		require.NoError(t, err)
		require.Len(t, res.Recorded.Entries, 1)
		e := res.Recorded.Entries[0]
		assert.Equal(t, money(t, "10.99", "USD"), e.Amount)
		assert.Equal(t, "user-42", e.Account, "the caller's account")
		assert.Equal(t, "coins:100:x", e.Reference)
		require.NotNil(t, res.Payment)
		assert.Equal(t, id, res.Payment.GatewayID)
		assert.Equal(t, payments.StatusSucceeded, res.Payment.Status)
		assert.Equal(t, 1, w.production.requestCount())
		assert.Zero(t, w.sandbox.requestCount())

		again, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: id})
		require.NoError(t, err)
		assert.True(t, again.Recorded.Empty(), "reported twice, credited once")

		// The notification of the same purchase, which names no account,
		// takes the payment's: a duplicate.
		s := w.signers[appstore.Production]
		tx := s.transaction(id, time.Now(), map[string]any{"appAccountToken": nil})
		nres, err := w.svc.HandleWebhook(t.Context(), w.g.Name(), s.request(s.notification("ONE_TIME_CHARGE", "", time.Now(), tx, nil)))
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeDuplicate, nres.Notification.Outcome)
		assert.Len(t, w.entries(), 1)

		_, err = w.verify(payments.PurchaseRequest{Account: "someone-else", Token: id})
		assert.ErrorIs(t, err, payments.ErrConflict, "money already someone else's")
	})

	t.Run("the notification first, then the app", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		token := newUUID(t)
		id, _ := w.transaction(appstore.Production, map[string]any{"appAccountToken": token})
		s := w.signers[appstore.Production]
		tx := s.transaction(id, time.Now(), map[string]any{"appAccountToken": token})
		nres, err := w.svc.HandleWebhook(t.Context(), w.g.Name(), s.request(s.notification("ONE_TIME_CHARGE", "", time.Now(), tx, nil)))
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeRecorded, nres.Notification.Outcome)
		res, err := w.verify(payments.PurchaseRequest{Account: token, Token: id})
		require.NoError(t, err)
		assert.True(t, res.Recorded.Empty())
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: id})
		assert.ErrorIs(t, err, payments.ErrConflict, "the appAccountToken's account, not the caller's")
		assert.Len(t, w.entries(), 1)
	})

	t.Run("sandbox on production's not-found answer", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Sandbox)
		id, _ := w.transaction(appstore.Sandbox, nil)
		res, err := w.verify(payments.PurchaseRequest{Account: "tester", Token: id})
		require.NoError(t, err)
		assert.Len(t, res.Recorded.Entries, 1)
		assert.Equal(t, 1, w.production.requestCount(), "production first")
		assert.Equal(t, 1, w.sandbox.requestCount())
		assert.Contains(t, w.logs.String(), "environment=Sandbox")
	})

	t.Run("a sandbox purchase reported to the production Gateway", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		id, _ := w.transaction(appstore.Sandbox, nil)
		_, err := w.verify(payments.PurchaseRequest{Account: "app-review", Token: id})
		assert.ErrorIs(t, err, appstore.ErrWrongEnvironment)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
		assert.Empty(t, w.entries(), "sandbox money is never booked as real")
	})

	t.Run("known in neither environment", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000001"})
		assert.ErrorIs(t, err, payments.ErrNotFound)
		assert.Equal(t, 1, w.production.requestCount())
		assert.Equal(t, 1, w.sandbox.requestCount())
	})

	t.Run("a signed transaction as the token is looked up, and Apple's answer wins", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		s := w.signers[appstore.Production]
		id, _ := w.transaction(appstore.Production, map[string]any{"revocationDate": time.Now().UnixMilli(), "appAccountToken": nil})
		fromDevice := s.chain.sign(t, mustJSON(t, s.transaction(id, time.Now().Add(-time.Hour), map[string]any{"appAccountToken": nil})))
		res, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: fromDevice})
		require.NoError(t, err)
		require.Len(t, res.Recorded.Entries, 2, "refunded since the device signed it: charge and refund")
		assert.Equal(t, payments.StatusRefunded, res.Payment.Status)
		b, err := w.svc.Balance(t.Context(), "user-42", "USD")
		require.NoError(t, err)
		assert.Zero(t, b.Money.Amount)
	})

	t.Run("a tampered signed transaction never reaches Apple", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		_, signed := w.transaction(appstore.Production, nil)
		parts := strings.Split(signed, ".")
		forged := parts[0] + "." + b64url.EncodeToString(mustJSON(t, map[string]any{"transactionId": "1", "bundleId": bundleID,
			"environment": "Production", "price": 99999000, "currency": "USD"})) + "." + parts[2]
		_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: forged})
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
		assert.Zero(t, w.production.requestCount())
	})

	t.Run("tokens that are neither", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		for _, token := range []string{"abc", "12/34", "1?x=2", "１２３", strings.Repeat("1", 65), "1.2", "-1", "1 2"} {
			_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: token})
			assert.ErrorIs(t, err, payments.ErrInvalidInput, token)
		}
		for _, token := range []string{"../1", "a.b.c", "1.2.3"} { // shaped like a JWS, and not one
			_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: token})
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, token)
		}
		assert.Zero(t, w.production.requestCount(), "nothing a client sends reaches the API's URL but a number")
	})

	t.Run("another product than the app says", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		id, _ := w.transaction(appstore.Production, nil)
		_, err := w.verify(payments.PurchaseRequest{Account: "user-42", ProductID: "com.example.coins1000", Token: id})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)
		assert.Empty(t, w.entries())
	})

	t.Run("free and family-shared purchases record nothing", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		for _, edits := range []map[string]any{{"price": 0}, {"inAppOwnershipType": "FAMILY_SHARED"}} {
			id, _ := w.transaction(appstore.Production, edits)
			res, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: id})
			require.NoError(t, err)
			assert.True(t, res.Recorded.Empty())
		}
	})

	t.Run("Apple's errors", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		w.production.answer(http.StatusTooManyRequests, []byte(`{"errorCode":4290000,"errorMessage":"Rate limit exceeded."}`))
		_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000002"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "4290000")
		assert.False(t, isClassified(err), "a failure to retry, not the caller's fault: %v", err)
		assert.Zero(t, w.sandbox.requestCount(), "only not-found falls back to the sandbox")

		w.production.answer(http.StatusBadRequest, []byte(invalidTransactionIDError))
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000003"})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)

		w.production.answer(http.StatusOK, []byte(`{"signedTransactionInfo":"signed_transaction_info_value"}`))
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000004"})
		assert.ErrorIs(t, err, payments.ErrUnauthenticated, "Apple's answer is verified too")

		_, other := w.transaction(appstore.Production, nil)
		w.production.answer(http.StatusOK, mustJSON(t, map[string]string{"signedTransactionInfo": other}))
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000005"})
		assert.ErrorIs(t, err, payments.ErrUnauthenticated, "an answer about another transaction")
		assert.Empty(t, w.entries())
	})

	t.Run("the request's JWT: a fresh one each time, and Apple refuses another key's", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		id, _ := w.transaction(appstore.Production, nil)
		for range 2 {
			_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: id})
			require.NoError(t, err)
		}
		tokens := w.production.seenTokens()
		require.Len(t, tokens, 2)
		assert.NotEqual(t, tokens[0], tokens[1])
		for _, tok := range tokens {
			assert.NoError(t, w.production.checkJWT(tok))
		}

		otherKey := newPurchaseWorld(t, appstore.Production, func(c *appstore.Config) { c.PrivateKey = pemPKCS8(t, mustKey(t, elliptic.P256())) })
		id, _ = otherKey.transaction(appstore.Production, nil)
		_, err := otherKey.verify(payments.PurchaseRequest{Account: "user-42", Token: id})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "401")
		assert.False(t, isClassified(err))
	})

	t.Run("the private key and the bearer token are never logged", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		id, _ := w.transaction(appstore.Production, nil)
		_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: id})
		require.NoError(t, err)
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000009"})
		require.ErrorIs(t, err, payments.ErrNotFound)
		logs := w.logs.String()
		require.NotEmpty(t, logs)
		key := string(readTestdata(t, apiKeyFile))
		for _, line := range strings.Split(strings.TrimSpace(key), "\n") {
			if !strings.HasPrefix(line, "-----") {
				assert.NotContains(t, logs, line)
			}
		}
		for _, tok := range w.production.seenTokens() {
			assert.NotContains(t, logs, tok)
			assert.NotContains(t, err.Error(), tok)
		}
		assert.NotContains(t, logs, "Bearer")
	})
}

func TestVerifyPurchaseWithoutAPI(t *testing.T) {
	s := newSigner(t, appstore.Production)
	g := newGateway(t)
	id := newTransactionID()
	signed := s.chain.sign(t, mustJSON(t, s.transaction(id, time.Now(), nil)))
	c, err := g.VerifyPurchase(t.Context(), payments.PurchaseRequest{Account: "user-42", Token: signed})
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, id, c.Entries[0].GatewayRef)
	assert.Equal(t, id, c.EventID)

	_, err = g.VerifyPurchase(t.Context(), payments.PurchaseRequest{Account: "user-42", Token: id})
	assert.ErrorIs(t, err, payments.ErrNotSupported, "a bare id needs the API")

	sandboxSigned := newSigner(t, appstore.Sandbox)
	_, err = g.VerifyPurchase(t.Context(), payments.PurchaseRequest{Account: "user-42",
		Token: sandboxSigned.chain.sign(t, mustJSON(t, sandboxSigned.transaction(newTransactionID(), time.Now(), nil)))})
	assert.ErrorIs(t, err, appstore.ErrWrongEnvironment)
}

// isClassified reports whether err wraps one of the sentinels that make
// it the caller's or the gateway's fault rather than a passing failure.
func isClassified(err error) bool {
	for _, s := range []error{payments.ErrInvalidInput, payments.ErrUnauthenticated, payments.ErrNotFound,
		payments.ErrConflict, payments.ErrNotSupported} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
