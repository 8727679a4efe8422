package gatewayenv

import (
	"errors"
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
)

// stripeFromEnv reads STRIPE_ENABLED, STRIPE_SECRET_KEY,
// STRIPE_WEBHOOK_SECRET (comma-separated: the current signing secret and,
// during a rotation, the previous ones), STRIPE_IGNORE_API_VERSION, and the
// switches STRIPE_CAPTURE_AFTER_REVIEW (capture manual-capture payments
// once no Radar review holds them, cancel those a review refuses),
// STRIPE_HOSTED_CHECKOUT (checkouts with a return URL get a hosted Checkout
// Session) and STRIPE_DISABLE_REFUND_LISTING (do not list a charge's
// refunds when charge.refunded arrives; by default the key lists them, so
// that refunds made in the Dashboard reach the ledger).
func stripeFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "STRIPE_ENABLED"); err != nil || !on {
		return nil, err
	}
	var ignoreVersion, captureAfterReview, hostedCheckout, noRefundListing bool
	for _, flag := range []struct {
		name string
		v    *bool
	}{
		{"STRIPE_IGNORE_API_VERSION", &ignoreVersion},
		{"STRIPE_CAPTURE_AFTER_REVIEW", &captureAfterReview},
		{"STRIPE_HOSTED_CHECKOUT", &hostedCheckout},
		{"STRIPE_DISABLE_REFUND_LISTING", &noRefundListing},
	} {
		on, err := envBool(env, flag.name)
		if err != nil {
			return nil, err
		}
		*flag.v = on
	}
	if env("STRIPE_SECRET_KEY") == "" {
		return nil, errors.New("STRIPE_ENABLED is set but STRIPE_SECRET_KEY is empty")
	}
	return stripe.New(stripe.Config{
		SecretKey:                env("STRIPE_SECRET_KEY"),
		WebhookSecrets:           envList(env, "STRIPE_WEBHOOK_SECRET"),
		IgnoreAPIVersionMismatch: ignoreVersion,
		CaptureAfterReview:       captureAfterReview,
		HostedCheckout:           hostedCheckout,
		DisableRefundListing:     noRefundListing,
		Logger:                   log.With("gateway", stripe.DefaultName),
	})
}
