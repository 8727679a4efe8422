package paypal_test

import (
	"bytes"
	"context"
	"hash/crc32"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/store/memory"
)

// completedBody is a PAYMENT.CAPTURE.COMPLETED that records money for
// acct_verify when it verifies.
func completedBody(t testing.TB) []byte {
	return edit(t, fixture(t, "payment.capture.completed"), func(ev map[string]any) {
		resource(ev)["custom_id"] = paypal.CustomIDAccountPrefix + "acct_verify"
	})
}

// TestForgeriesAreRejectedAndJournaled: every notification that PayPal did
// not sign for this webhook, or that names a certificate the driver must
// not trust or fetch, is answered 401 and journaled unverified, and a
// certificate URL off PayPal's hosts is never fetched.
func TestForgeriesAreRejectedAndJournaled(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	p := testCerts(t)
	good := defaultSigner(t)
	with := func(change func(*signer)) signer { s := good; change(&s); return s }
	now := time.Now()
	body := completedBody(t)
	header := func(name, value string) *payments.WebhookRequest {
		req := good.sign(body, now)
		req.Header.Set(name, value)
		return req
	}
	cases := []struct {
		name    string
		req     *payments.WebhookRequest
		fetches bool // whether the certificate URL may be fetched
		detail  string
	}{
		{"cert URL over http", with(func(s *signer) { s.certURL = "http://api.sandbox.paypal.com" + certPath }).sign(body, now), false, "not https"},
		{"cert URL on another host", with(func(s *signer) { s.certURL = "https://certs.example.com" + certPath }).sign(body, now), false, "not one of PayPal's"},
		{"cert URL on a look-alike host", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com.example.com" + certPath }).sign(body, now), false, "not one of PayPal's"},
		{"cert URL with a port", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com:8443" + certPath }).sign(body, now), false, "a port"},
		{"cert URL with credentials", with(func(s *signer) { s.certURL = "https://user@api.sandbox.paypal.com" + certPath }).sign(body, now), false, "credentials"},
		{"cert URL with a query", with(func(s *signer) { s.certURL = certURL + "?next=https://certs.example.com" }).sign(body, now), false, "a query"},
		{"cert URL off the notifications API", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com/v2/checkout/orders/X" }).sign(body, now), false, "not under"},
		{"cert URL climbing out", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com/v1/notifications/../../v2/x" }).sign(body, now), false, "not under"},
		{"expired certificate", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com" + expiredCertPath }).sign(body, now), true, "certificate chain"},
		{"certificate of another authority", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com" + foreignCertPath }).sign(body, now), true, "certificate chain"},
		{"certificate of another name", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com" + wrongNameCertPath }).sign(body, now), true, "webhooks.example.com"},
		{"certificate PayPal does not have", with(func(s *signer) { s.certURL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-missing" }).sign(body, now), true, "404"},
		{"another key", with(func(s *signer) { s.key = p.otherKey }).sign(body, now), true, "signature does not match"},
		{"another webhook id", with(func(s *signer) { s.webhookID = "5GP028458E2496506" }).sign(body, now), true, "signature does not match"},
		{"body changed by one byte", func() *payments.WebhookRequest {
			req := good.sign(body, now)
			req.Body = bytes.Replace(bytes.Clone(req.Body), []byte(`"25.00"`), []byte(`"95.00"`), 1)
			return req
		}(), true, "signature does not match"},
		{"SHA1withRSA", header(paypal.HeaderAuthAlgo, "SHA1withRSA"), false, "is not SHA256withRSA"},
		{"signature not base64", header(paypal.HeaderTransmissionSig, "not base64!"), false, "not base64"},
		{"time not a date", header(paypal.HeaderTransmissionTime, "Mon, 30 Nov 2026 10:00:00 GMT"), false, "not a date-time"},
		{"stale", good.sign(body, now.Add(-paypal.DefaultTolerance-time.Minute)), false, "tolerance"},
		{"from the future", good.sign(body, now.Add(paypal.DefaultTolerance+time.Minute)), false, "tolerance"},
	}
	for _, name := range g.WebhookHeaders() {
		req := good.sign(body, now)
		req.Header.Del(name)
		cases = append(cases, struct {
			name    string
			req     *payments.WebhookRequest
			fetches bool
			detail  string
		}{"without " + name, req, false, "missing one of"})
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, before := api.counts()
			res, err := svc.HandleWebhook(context.Background(), paypal.DefaultName, tc.req)
			require.ErrorIs(t, err, payments.ErrUnauthenticated)
			assert.Equal(t, http.StatusUnauthorized, res.Reply.Status)
			n := res.Notification
			assert.False(t, n.Verified)
			assert.Equal(t, payments.OutcomeRejected, n.Outcome)
			assert.Contains(t, n.Detail, tc.detail)
			stored, err := svc.Notification(context.Background(), n.ID)
			require.NoError(t, err, "journaled")
			assert.Equal(t, payments.OutcomeRejected, stored.Outcome)
			if _, after := api.counts(); !tc.fetches {
				assert.Equal(t, before, after, "no certificate is fetched for it")
			}
		})
	}
	entries, _, err := svc.Entries(context.Background(), payments.EntryFilter{})
	require.NoError(t, err)
	assert.Empty(t, entries)
	for _, c := range api.callLog() {
		assert.NotContains(t, c, "verify-webhook-signature", "verification never asks PayPal")
	}
}

// TestCertificateValidAtTransmissionTime: a journaled notification is
// replayed long after it arrived, when its certificate has expired; it
// verifies at its transmission time. As a live delivery it is stale, and a
// notification transmitted after the certificate expired never verifies.
func TestCertificateValidAtTransmissionTime(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	p := testCerts(t)
	s := defaultSigner(t)
	s.certURL = "https://api.sandbox.paypal.com" + expiredCertPath
	ctx := context.Background()
	during := p.expiredFrom.Add(24 * time.Hour)

	req := s.sign(completedBody(t), during)
	req.Replay = true
	c, err := g.ParseWebhook(ctx, req)
	require.NoError(t, err, "valid when it was transmitted")
	assert.Len(t, c.Entries, 1)

	req.Replay = false
	_, err = g.ParseWebhook(ctx, req)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "a live delivery transmitted a year ago is stale")

	after := s.sign(completedBody(t), p.expiredTil.Add(time.Hour))
	after.Replay = true
	_, err = g.ParseWebhook(ctx, after)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "transmitted after its certificate expired")
	assert.ErrorContains(t, err, "expired")
}

// TestCertificateFetchedOnce: the certificate is fetched once, however many
// notifications name it at once, and kept by URL.
func TestCertificateFetchedOnce(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	s := defaultSigner(t)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			_, err := g.ParseWebhook(context.Background(), s.sign(completedBody(t), time.Now()))
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	_, err := g.ParseWebhook(context.Background(), s.sign(completedBody(t), time.Now()))
	require.NoError(t, err)
	_, fetches := api.counts()
	assert.Equal(t, 1, fetches)
}

// TestCertificateURLServingTheLeafOnly: the intermediate comes from
// Config.Intermediates, or from where the leaf's Authority Information
// Access says, on DigiCert's host (see also TestPayPalSampleIntermediate).
func TestCertificateURLServingTheLeafOnly(t *testing.T) {
	api := newFakeAPI(t)
	p := testCerts(t)
	s := defaultSigner(t)
	s.certURL = "https://api.sandbox.paypal.com" + leafOnlyCertPath
	parse := func(g *paypal.Gateway) error {
		_, err := g.ParseWebhook(context.Background(), s.sign(completedBody(t), time.Now()))
		return err
	}
	assert.ErrorIs(t, parse(newGateway(t, api)), payments.ErrUnauthenticated, "no intermediate anywhere")
	assert.NoError(t, parse(newGateway(t, api, func(c *paypal.Config) { c.Intermediates = p.inters })))
	api.serveCert(issuerPath, p.interDER)
	assert.NoError(t, parse(newGateway(t, api)), "fetched from cacerts.digicert.com")
}

// TestCertificateRedirects: a redirect to another of PayPal's hosts is
// followed; one off them is not.
func TestCertificateRedirects(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	s := defaultSigner(t)
	api.redirect("/v1/notifications/certs/CERT-moved", "https://api-m.sandbox.paypal.com"+certPath)
	api.redirect("/v1/notifications/certs/CERT-elsewhere", "https://certs.example.com"+certPath)

	s.certURL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-moved"
	_, err := g.ParseWebhook(context.Background(), s.sign(completedBody(t), time.Now()))
	assert.NoError(t, err)
	s.certURL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-elsewhere"
	_, err = g.ParseWebhook(context.Background(), s.sign(completedBody(t), time.Now()))
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.ErrorContains(t, err, "redirect off PayPal's hosts")
}

// TestSameTransmissionAnotherBody: PayPal signs the body's CRC32, which
// four chosen bytes can match. A body forged to the CRC32 of a delivery
// the driver verified, under that delivery's headers, is refused; the same
// delivery again is not.
func TestSameTransmissionAnotherBody(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	req := defaultSigner(t).sign(completedBody(t), time.Now())
	_, err := g.ParseWebhook(context.Background(), req)
	require.NoError(t, err)

	forged := bytes.Replace(bytes.Clone(req.Body), []byte(`"25.00"`), []byte(`"99.00"`), 1)
	forged = forceCRC32(forged, crc32.ChecksumIEEE(req.Body))
	require.Equal(t, crc32.ChecksumIEEE(req.Body), crc32.ChecksumIEEE(forged))
	f := *req
	f.Body = forged
	_, err = g.ParseWebhook(context.Background(), &f)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.ErrorContains(t, err, "came before with another body")

	_, err = g.ParseWebhook(context.Background(), req)
	assert.NoError(t, err, "a redelivery of the same bytes")
}

// forceCRC32 appends four bytes to data so that its CRC32 (IEEE) is want.
// The CRC of data followed by x is affine in x, so x solves a 32×32 linear
// system over GF(2).
func forceCRC32(data []byte, want uint32) []byte {
	with := func(x uint32) uint32 {
		return crc32.ChecksumIEEE(append(bytes.Clone(data), byte(x), byte(x>>8), byte(x>>16), byte(x>>24)))
	}
	base := with(0)
	var cols [32]uint32
	for i := range cols {
		cols[i] = with(1<<i) ^ base
	}
	// Gauss-Jordan elimination on the rows of [cols | want^base].
	var rows [32]uint64 // bit 32 is the right-hand side
	target := want ^ base
	for r := range rows {
		for c := range cols {
			rows[r] |= uint64(cols[c]>>r&1) << c
		}
		rows[r] |= uint64(target>>r&1) << 32
	}
	for c := 0; c < 32; c++ {
		pivot := -1
		for r := c; r < 32; r++ {
			if rows[r]>>c&1 == 1 {
				pivot = r
				break
			}
		}
		if pivot < 0 {
			panic("forceCRC32: singular")
		}
		rows[c], rows[pivot] = rows[pivot], rows[c]
		for r := range rows {
			if r != c && rows[r]>>c&1 == 1 {
				rows[r] ^= rows[c]
			}
		}
	}
	var x uint32
	for r := range rows {
		x |= uint32(rows[r]>>32&1) << r
	}
	return append(bytes.Clone(data), byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
}

// TestNewRefusesBadConfig: what New refuses, and that its errors never
// carry the secret.
func TestNewRefusesBadConfig(t *testing.T) {
	ok := paypal.Config{ClientID: fakeClientID, Secret: fakeSecret, WebhookID: testWebhookID, Roots: testCerts(t).roots}
	for name, change := range map[string]func(*paypal.Config){
		"no client id":           func(c *paypal.Config) { c.ClientID = "" },
		"no secret":              func(c *paypal.Config) { c.Secret = " " },
		"secret as client id":    func(c *paypal.Config) { c.ClientID = c.Secret },
		"no webhook id":          func(c *paypal.Config) { c.WebhookID = "" },
		"secret as webhook id":   func(c *paypal.Config) { c.WebhookID = c.Secret },
		"webhook id with spaces": func(c *paypal.Config) { c.WebhookID = " 8PT597110X687430L" },
		"negative tolerance":     func(c *paypal.Config) { c.Tolerance = -time.Second },
	} {
		cfg := ok
		change(&cfg)
		_, err := paypal.New(cfg)
		require.ErrorIs(t, err, payments.ErrInvalidInput, name)
		assert.False(t, strings.Contains(err.Error(), fakeSecret), "%s: %v", name, err)
	}
	g, err := paypal.New(ok)
	require.NoError(t, err)
	assert.Equal(t, paypal.DefaultName, g.Name())
}
