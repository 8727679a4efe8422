package paypal

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// certHosts are the only hosts a webhook certificate is fetched from:
// PayPal's API hosts, live and sandbox. A notification names its
// certificate in PAYPAL-CERT-URL, which the signature does not cover, so
// without this list anyone could make the driver fetch any URL. Both
// environments are allowed: the certificate must still chain to a trusted
// root under PayPal's name (certSubjects), and the signature covers the
// webhook id, which no webhook of the other environment has.
var certHosts = map[string]bool{
	"api.paypal.com":           true,
	"api-m.paypal.com":         true,
	"api.sandbox.paypal.com":   true,
	"api-m.sandbox.paypal.com": true,
}

// certSubjects are the names PayPal's webhook-signing certificates are
// issued to, live and sandbox; both must be the certificate's subject
// common name and one of its DNS names. PayPal's own SDKs check the same
// name (PayPal-Java-SDK SSLUtil.validateCertificateChain,
// PayPal-Python-SDK WebhookEvent._is_common_name_valid).
var certSubjects = map[string]bool{
	"messageverificationcerts.paypal.com":         true,
	"messageverificationcerts.sandbox.paypal.com": true,
}

// issuerHosts are the hosts a missing intermediate certificate is fetched
// from, over http as Authority Information Access names it: DigiCert's,
// which has issued PayPal's webhook certificates since at least 2015. What
// comes from there is only an intermediate: it must chain to Roots like any
// other.
var issuerHosts = map[string]bool{"cacerts.digicert.com": true}

// certPathPrefix is the API namespace PayPal serves webhook certificates
// under (/v1/notifications/certs/CERT-…).
const certPathPrefix = "/v1/notifications/"

const (
	// maxCertBody bounds what a certificate URL may answer.
	maxCertBody = 64 << 10
	// maxCerts bounds how many certificate URLs are kept; PayPal rotates
	// its certificate every year or two, so a handful is plenty.
	maxCerts = 64
	// certFailureTTL is how long a failed fetch is remembered, so that a
	// burst of forged notifications naming PayPal URLs that do not exist
	// costs PayPal one request a minute each, not one per notification.
	certFailureTTL = time.Minute
	// certFetchTimeout bounds one fetch, whatever the caller's context.
	certFetchTimeout = 30 * time.Second
)

// checkCertURL accepts only https URLs on PayPal's API hosts, on the
// default port, under the notifications namespace, without credentials,
// query or fragment.
func checkCertURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("not a URL")
	case u.Scheme != "https":
		return nil, errors.New("not https")
	case u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, errors.New("credentials, a port, a query or a fragment")
	case !certHosts[strings.ToLower(u.Hostname())]:
		return nil, fmt.Errorf("host %q is not one of PayPal's API hosts", u.Hostname())
	case !strings.HasPrefix(u.EscapedPath(), certPathPrefix) || strings.Contains(u.Path, ".."):
		return nil, errors.New("not under " + certPathPrefix)
	}
	return u, nil
}

// checkIssuerURL accepts only http(s) URLs on issuerHosts, on the default
// port, without credentials, query or fragment.
func checkIssuerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, errors.New("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("not http")
	case u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return nil, errors.New("credentials, a port, a query or a fragment")
	case !issuerHosts[strings.ToLower(u.Hostname())]:
		return nil, fmt.Errorf("host %q is not a certificate authority the driver fetches from", u.Hostname())
	}
	return u, nil
}

// certStore fetches webhook certificates over https from PayPal's hosts,
// and missing intermediates from their authority, and keeps them by URL.
// Each URL is fetched by one caller at a time; the others wait for its
// result.
type certStore struct {
	client *http.Client

	mu      sync.Mutex
	entries map[string]*certEntry
	order   []string // URLs in the order they were added, for eviction
}

type certEntry struct {
	done    chan struct{} // closed once certs or err is set
	certs   []*x509.Certificate
	err     error
	failure time.Time // when err was set
}

func newCertStore(base *http.Client) *certStore {
	client := *base
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if _, err := checkCertURL(via[0].URL.String()); err == nil {
			if _, err := checkCertURL(req.URL.String()); err != nil {
				return fmt.Errorf("redirect off PayPal's hosts: %v", err)
			}
			return nil
		}
		if _, err := checkIssuerURL(req.URL.String()); err != nil {
			return fmt.Errorf("redirect off the certificate authority's hosts: %v", err)
		}
		return nil
	}
	return &certStore{client: &client, entries: map[string]*certEntry{}}
}

// get returns the certificates served at u, leaf first.
func (s *certStore) get(ctx context.Context, u *url.URL) ([]*x509.Certificate, error) {
	key := u.String()
	s.mu.Lock()
	e, ok := s.entries[key]
	if ok && e.isStaleFailure() {
		s.remove(key)
		ok = false
	}
	if !ok {
		e = &certEntry{done: make(chan struct{})}
		s.add(key, e)
		s.mu.Unlock()
		e.certs, e.err = s.fetch(ctx, key)
		if e.err != nil {
			e.failure = time.Now()
		}
		close(e.done)
		return e.certs, e.err
	}
	s.mu.Unlock()
	select {
	case <-e.done:
		return e.certs, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *certEntry) isStaleFailure() bool {
	select {
	case <-e.done:
		return e.err != nil && time.Since(e.failure) > certFailureTTL
	default:
		return false
	}
}

// add keeps e under key, evicting the oldest entry that is not being
// fetched once there are too many. The caller holds s.mu.
func (s *certStore) add(key string, e *certEntry) {
	for len(s.order) >= maxCerts {
		evicted := false
		for i, k := range s.order {
			select {
			case <-s.entries[k].done:
				delete(s.entries, k)
				s.order = append(s.order[:i], s.order[i+1:]...)
				evicted = true
			default:
				continue
			}
			break
		}
		if !evicted {
			break
		}
	}
	s.entries[key] = e
	s.order = append(s.order, key)
}

// remove drops key. The caller holds s.mu.
func (s *certStore) remove(key string) {
	delete(s.entries, key)
	for i, k := range s.order {
		if k == key {
			s.order = append(s.order[:i], s.order[i+1:]...)
			return
		}
	}
}

// fetch downloads and parses the PEM certificates at rawURL. The fetch
// does not end with the notification that asked for it: others may be
// waiting for the same certificate.
func (s *certStore) fetch(ctx context.Context, rawURL string) ([]*x509.Certificate, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), certFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCertBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxCertBody {
		return nil, fmt.Errorf("answered more than %d bytes", maxCertBody)
	}
	return parseCerts(body)
}

// parseCerts returns every CERTIFICATE block of a PEM file, in order, or
// the DER certificates of a file that has none (as an authority serves
// its intermediates).
func parseCerts(body []byte) ([]*x509.Certificate, error) {
	if !bytes.Contains(body, []byte("-----BEGIN")) {
		certs, err := x509.ParseCertificates(body)
		if err != nil || len(certs) == 0 {
			return nil, errors.New("neither PEM nor DER certificates in the answer")
		}
		return certs, nil
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, body = pem.Decode(body)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %v", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate in the answer")
	}
	return certs, nil
}

// verifyChain checks that the leaf is PayPal's webhook-signing certificate
// and chains to a trusted root, all of it valid at time at (the
// transmission time, so that a journaled notification still verifies when
// it is replayed after the certificate expired). When the certificate URL
// served no intermediate that leads to a root, the intermediates that the
// certificates name in their Authority Information Access are fetched from
// issuerHosts. It returns the leaf.
func (g *Gateway) verifyChain(ctx context.Context, certs []*x509.Certificate, at time.Time) (*x509.Certificate, error) {
	leaf := certs[0]
	cn := leaf.Subject.CommonName
	if !certSubjects[cn] {
		return nil, fmt.Errorf("certificate is issued to %q, not to PayPal's message verification name", cn)
	}
	if err := leaf.VerifyHostname(cn); err != nil {
		return nil, fmt.Errorf("certificate does not name %s among its DNS names", cn)
	}
	inter := x509.NewCertPool()
	if g.extra != nil {
		inter = g.extra.Clone()
	}
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	verify := func() error {
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots:         g.roots,
			Intermediates: inter,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		return err
	}
	err := verify()
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) && g.addIssuers(ctx, certs, inter) {
		err = verify()
	}
	if err != nil {
		return nil, fmt.Errorf("certificate chain at %s: %v", at.Format(time.RFC3339), err)
	}
	return leaf, nil
}

// addIssuers adds to pool the certificates that certs name as their
// issuers' (at most two URLs), and reports whether it added any.
func (g *Gateway) addIssuers(ctx context.Context, certs []*x509.Certificate, pool *x509.CertPool) bool {
	added, tried := false, 0
	for _, c := range certs {
		for _, raw := range c.IssuingCertificateURL {
			if tried == 2 {
				return added
			}
			u, err := checkIssuerURL(raw)
			if err != nil {
				continue
			}
			tried++
			issuers, err := g.certs.get(ctx, u)
			if err != nil {
				g.log.DebugContext(ctx, "paypal: intermediate certificate not fetched", "url", raw, "error", err)
				continue
			}
			for _, i := range issuers {
				pool.AddCert(i)
				added = true
			}
		}
	}
	return added
}
