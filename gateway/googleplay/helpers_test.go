package googleplay_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/api/option"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
	"github.com/payrail/payments/store/memory"
)

// The app and push subscription the tests configure. The package is the
// one Google's published examples name.
const (
	packageName  = "com.some.thing"
	pushAudience = "https://payments.example/googleplay-handleWebhookEvents"
	pushEmail    = "play-rtdn-push@example-project.iam.gserviceaccount.com"
	keyID        = "test-key-1"
)

// signingKeys are the test's stand-in for Google's token signing key, and
// another key the driver must not accept. Generated once: RSA keys are slow
// to make.
var signingKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

func googleKey() *rsa.PrivateKey { return signingKeys()[0] }
func otherKey() *rsa.PrivateKey  { return signingKeys()[1] }

// keysServer serves the test key as a JWK set, as
// https://www.googleapis.com/oauth2/v3/certs serves Google's, and counts
// the fetches; down makes it answer 503.
type keysServer struct {
	*httptest.Server
	fetches atomic.Int64
	down    atomic.Bool
}

func newKeysServer(t testing.TB) *keysServer {
	k := &keysServer{}
	pub := googleKey().PublicKey
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": keyID,
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	require.NoError(t, err)
	k.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k.fetches.Add(1)
		if k.down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	}))
	t.Cleanup(k.Close)
	return k
}

// client sends every request, whatever its host, to the keys server: the
// idtoken package fetches from Google's fixed URL.
func (k *keysServer) client() *http.Client {
	target, _ := url.Parse(k.URL)
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// claims are those Pub/Sub signs for a push subscription
// (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions),
// issued at at.
func claims(at time.Time) map[string]any {
	return map[string]any{
		"aud": pushAudience, "azp": "113774264463038321964", "email": pushEmail, "email_verified": true,
		"exp": at.Add(time.Hour).Unix(), "iat": at.Unix(), "iss": "https://accounts.google.com",
		"sub": "113774264463038321964",
	}
}

// signToken signs claims as an RS256 JWT under keyID.
func signToken(key *rsa.PrivateKey, c map[string]any) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signed := enc(map[string]string{"alg": "RS256", "kid": keyID, "typ": "JWT"}) + "." + enc(c)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// push is body as Pub/Sub pushes it, with token as its bearer.
func push(body []byte, token string) *payments.WebhookRequest {
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return &payments.WebhookRequest{Header: h, Body: body, RemoteAddr: "66.102.6.1:41234"}
}

// signedPush is body pushed with a valid token issued at at.
func signedPush(body []byte, at time.Time) *payments.WebhookRequest {
	return push(body, signToken(googleKey(), claims(at)))
}

var messageSeq atomic.Int64

// envelope wraps a developer notification as a Pub/Sub push delivers it.
func envelope(notification []byte) []byte {
	id := fmt.Sprint(136969346945 + messageSeq.Add(1))
	b, _ := json.Marshal(map[string]any{
		"message": map[string]any{
			"attributes": map[string]string{}, "data": base64.StdEncoding.EncodeToString(notification),
			"messageId": id, "message_id": id,
			"publishTime": "2026-11-30T12:00:00.000Z", "publish_time": "2026-11-30T12:00:00.000Z",
		},
		"subscription": "projects/example-project/subscriptions/play-rtdn-push",
	})
	return b
}

// notification is a DeveloperNotification for the test package.
func notification(kind string, body map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"version": "1.0", "packageName": packageName,
		"eventTimeMillis": fmt.Sprint(time.Now().UnixMilli()), kind: body})
	return b
}

func oneTimePurchased(sku, token string) []byte {
	return notification("oneTimeProductNotification", map[string]any{
		"version": "1.0", "notificationType": 1, "purchaseToken": token, "sku": sku})
}

func subscriptionNotice(notificationType int, token string) []byte {
	return notification("subscriptionNotification", map[string]any{
		"version": "1.0", "notificationType": notificationType, "purchaseToken": token})
}

func voidedNotice(token, orderID string, productType, refundType int) []byte {
	return notification("voidedPurchaseNotification", map[string]any{
		"purchaseToken": token, "orderId": orderID, "productType": productType, "refundType": refundType})
}

func readFixture(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// The catalogue the tests configure.
var (
	usd = func(minor int64) payments.Money { return payments.Money{Amount: minor, Currency: "USD"} }

	testPrices = map[string]payments.Money{
		"coins_100":                usd(99),  // consumable
		"gems":                     usd(100), // consumable, bought by the unit
		"my.sku":                   usd(250), // the product of Google's published example
		"premium/monthly":          usd(499),
		"premium/monthly/intro-50": usd(249),
		"premium_addon":            usd(100),
	}
)

// newGateway builds a driver against the fake API and the test key.
func newGateway(t testing.TB, api *fakePlay, keys *keysServer, mutate ...func(*googleplay.Config)) *googleplay.Gateway {
	t.Helper()
	cfg := googleplay.Config{
		PackageName:        packageName,
		ClientOptions:      []option.ClientOption{option.WithEndpoint(api.URL + "/"), option.WithHTTPClient(api.Client())},
		PushAudience:       pushAudience,
		PushServiceAccount: pushEmail,
		TokenKeysClient:    keys.client(),
		Prices:             testPrices,
		Consumables:        []string{"coins_100", "gems"},
		Subscriptions:      []string{"premium"},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := googleplay.New(cfg)
	require.NoError(t, err)
	return g
}

// world is a Service over a memory store with the driver as its gateway.
type world struct {
	api   *fakePlay
	keys  *keysServer
	g     *googleplay.Gateway
	store *memory.Store
	svc   *payments.Service
}

func newWorld(t testing.TB, mutate ...func(*googleplay.Config)) *world {
	t.Helper()
	w := &world{api: newFakePlay(t), keys: newKeysServer(t), store: memory.New()}
	w.g = newGateway(t, w.api, w.keys, mutate...)
	var err error
	w.svc, err = payments.New(w.store, payments.WithGateway(w.g))
	require.NoError(t, err)
	return w
}

// deliver pushes a notification to the Service, signed now.
func (w *world) deliver(t testing.TB, notification []byte) (*payments.WebhookResult, error) {
	return w.svc.HandleWebhook(t.Context(), googleplay.DefaultName, signedPush(envelope(notification), time.Now()))
}

func (w *world) entries(t testing.TB, f payments.EntryFilter) []payments.Entry {
	t.Helper()
	var all []payments.Entry
	for {
		page, next, err := w.svc.Entries(t.Context(), f)
		require.NoError(t, err)
		all = append(all, page...)
		if next == "" {
			return all
		}
		f.After = next
	}
}

func (w *world) balance(t testing.TB, account string) int64 {
	t.Helper()
	b, err := w.svc.Balance(t.Context(), account, "USD")
	require.NoError(t, err)
	return b.Money.Amount
}
