package appstore_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/appstore"
)

// The host's App Store Server API credentials in the tests: the tests'
// own key, made by testdata/generate.sh, with made-up ids.
const (
	issuerID   = "57246542-96fe-1a63-e053-0824d011072a"
	keyID      = "2X9R4HXF34"
	apiKeyFile = "AuthKey_2X9R4HXF34.p8"
)

// Apple's error bodies for Get Transaction Info
// (https://developer.apple.com/documentation/appstoreserverapi/invalidtransactioniderror,
// https://developer.apple.com/documentation/appstoreserverapi/transactionidnotfounderror).
const (
	invalidTransactionIDError  = `{"errorCode":4000006,"errorMessage":"Invalid transaction id."}`
	transactionIDNotFoundError = `{"errorCode":4040010,"errorMessage":"Transaction id not found."}`
)

// fakeAppleAPI stands in for one environment of the App Store Server API:
// Get Transaction Info
// (https://developer.apple.com/documentation/appstoreserverapi/get-transaction-info)
// answering signed transactions it holds, and Apple's errors otherwise.
// Every request's bearer JWT is checked as Apple documents it
// (https://developer.apple.com/documentation/appstoreserverapi/generating-json-web-tokens-for-api-requests):
// ES256 by the host's key, kid, iss, aud appstoreconnect-v1, bid, and an
// expiry at most an hour after its issue; a request that fails gets
// Apple's bare 401.
type fakeAppleAPI struct {
	env appstore.Environment
	srv *httptest.Server
	key *ecdsa.PublicKey

	mu           sync.Mutex
	transactions map[string]string // transactionId → signedTransactionInfo
	requests     int
	tokens       []string // the bearer tokens seen
	status       int      // when set, the answer to every request
	body         []byte
}

func newFakeAppleAPI(t testing.TB, env appstore.Environment) *fakeAppleAPI {
	t.Helper()
	block, _ := pem.Decode(readTestdata(t, apiKeyFile))
	require.NotNil(t, block)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	require.NoError(t, err)
	f := &fakeAppleAPI{env: env, key: &key.(*ecdsa.PrivateKey).PublicKey, transactions: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// hold makes the fake know a signed transaction.
func (f *fakeAppleAPI) hold(id, signed string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.transactions[id] = signed
}

// answer makes the fake answer every request with status and body.
func (f *fakeAppleAPI) answer(status int, body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status, f.body = status, body
}

func (f *fakeAppleAPI) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

func (f *fakeAppleAPI) seenTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokens...)
}

func (f *fakeAppleAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.tokens = append(f.tokens, bearer)
	if !ok || f.checkJWT(bearer) != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if f.status != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = w.Write(f.body)
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, "/inApps/v1/transactions/")
	if r.Method != http.MethodGet || !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	signed, ok := f.transactions[id]
	switch {
	case strings.Trim(id, "0123456789") != "":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(invalidTransactionIDError))
	case !ok:
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(transactionIDNotFoundError))
	default:
		_ = json.NewEncoder(w).Encode(map[string]string{"signedTransactionInfo": signed})
	}
}

// checkJWT checks a request's bearer token as Apple would.
func (f *fakeAppleAPI) checkJWT(bearer string) error {
	claims := jwt.MapClaims{}
	token, err := jwt.ParseWithClaims(bearer, claims, func(tok *jwt.Token) (any, error) {
		if tok.Header["kid"] != keyID {
			return nil, jwt.ErrTokenInvalidId
		}
		return f.key, nil
	}, jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("appstoreconnect-v1"), jwt.WithIssuer(issuerID),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	if err != nil || !token.Valid {
		return jwt.ErrTokenInvalidClaims
	}
	if claims["bid"] != bundleID {
		return jwt.ErrTokenInvalidClaims
	}
	exp, err1 := claims.GetExpirationTime()
	iat, err2 := claims.GetIssuedAt()
	if err1 != nil || err2 != nil || iat == nil || exp.Sub(iat.Time) > time.Hour {
		return jwt.ErrTokenInvalidClaims
	}
	return nil
}

// apiConfig points a Gateway at the fakes with the test credentials.
func apiConfig(t testing.TB, production, sandbox *fakeAppleAPI) func(*appstore.Config) {
	return func(c *appstore.Config) {
		c.IssuerID, c.KeyID, c.PrivateKey = issuerID, keyID, readTestdata(t, apiKeyFile)
		c.ProductionURL, c.SandboxURL = production.srv.URL, sandbox.srv.URL
		c.HTTPClient = production.srv.Client()
	}
}
