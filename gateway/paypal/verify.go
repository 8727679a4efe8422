package paypal

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// verify authenticates a notification offline, on its raw body, as PayPal
// documents for self-verification
// (https://developer.paypal.com/api/rest/webhooks/rest/) and as PayPal's own
// SDKs do it (PayPal-Java-SDK Event.validateReceivedEvent,
// PayPal-Python-SDK WebhookEvent.verify, PayPal-node-SDK
// notification.webhookEvent.verify):
//
//  1. the five PAYPAL-* headers are present and PAYPAL-AUTH-ALGO is
//     SHA256withRSA;
//  2. unless req.Replay, PAYPAL-TRANSMISSION-TIME is within the tolerance
//     of now, either way;
//  3. PAYPAL-CERT-URL is https on one of PayPal's API hosts (checkCertURL),
//     and the certificate it serves, fetched once and kept, is issued to
//     PayPal's message verification name and chains to a trusted root, all
//     of it valid at the transmission time (verifyChain);
//  4. PAYPAL-TRANSMISSION-SIG is that certificate's RSA PKCS #1 v1.5
//     signature, over SHA-256, of
//     "<transmission id>|<transmission time>|<webhook id>|<CRC32 of the raw body>",
//     the CRC32 (IEEE) as an unsigned decimal and the webhook id the
//     configured one;
//  5. the transmission id has not come with another body (transmissions).
//
// It never re-encodes the body: plutov's VerifyWebhookSignature sends a
// re-marshalled event to PayPal's verify endpoint, and those are not the
// bytes that were signed. Every failure wraps payments.ErrUnauthenticated,
// a certificate that cannot be fetched included: nothing is verified
// without one, and PayPal retries what is refused.
func (g *Gateway) verify(ctx context.Context, req *payments.WebhookRequest) error {
	unauth := func(format string, args ...any) error {
		return fmt.Errorf("paypal: "+format+": %w", append(args, payments.ErrUnauthenticated)...)
	}
	get := func(name string) string { return strings.TrimSpace(req.Header.Get(name)) }
	id, stamp, sig, certURL, algo := get(HeaderTransmissionID), get(HeaderTransmissionTime),
		get(HeaderTransmissionSig), get(HeaderCertURL), get(HeaderAuthAlgo)
	if id == "" || stamp == "" || sig == "" || certURL == "" || algo == "" {
		return unauth("missing one of the %s headers", strings.Join(g.WebhookHeaders(), ", "))
	}
	if algo != AuthAlgo {
		return unauth("%s %q is not %s", HeaderAuthAlgo, truncate(algo), AuthAlgo)
	}
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		return unauth("%s %q is not a date-time", HeaderTransmissionTime, truncate(stamp))
	}
	if off := g.now().Sub(at); !req.Replay && (off > g.tolerance || off < -g.tolerance) {
		return unauth("transmission time %s is %s from now, beyond the %s tolerance",
			stamp, off.Round(time.Second), g.tolerance)
	}
	signature, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return unauth("%s is not base64", HeaderTransmissionSig)
	}
	u, err := checkCertURL(certURL)
	if err != nil {
		return unauth("%s %q refused: %v", HeaderCertURL, truncate(certURL), err)
	}
	certs, err := g.certs.get(ctx, u)
	if err != nil {
		return unauth("certificate %s: %v", u, err)
	}
	leaf, err := g.verifyChain(ctx, certs, at)
	if err != nil {
		return unauth("%s: %v", u, err)
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return unauth("certificate %s has no RSA key", u)
	}
	signed := id + "|" + stamp + "|" + g.webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(req.Body)), 10)
	digest := sha256.Sum256([]byte(signed))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], signature); err != nil {
		return unauth("signature does not match the body and the webhook id %s", g.webhookID)
	}
	if !g.seen.check(id, req.Body, g.now()) {
		return unauth("transmission %s came before with another body", truncate(id))
	}
	return nil
}

// truncate shortens a header value quoted in an error, which the journal
// keeps.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
