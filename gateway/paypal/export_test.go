package paypal

import (
	"context"

	"github.com/payrail/payments"
)

// ParseVerifiedForTest decodes and translates body as ParseWebhook does
// once its signature has verified. The fuzz target uses it to reach the
// parser behind the signature: an RSA signature per input is far too slow
// under the fuzzer's instrumentation.
func (g *Gateway) ParseVerifiedForTest(ctx context.Context, body []byte) (*payments.Changes, error) {
	return g.parseVerified(ctx, body)
}
