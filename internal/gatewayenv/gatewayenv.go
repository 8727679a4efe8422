// Package gatewayenv builds gateway drivers from environment variables
// (STRIPE_ENABLED, STRIPE_SECRET_KEY, …, GOOGLE_PLAY_ENABLED, …), so that
// the example server and the operator command read one environment the
// same way: the command has to re-verify and re-parse what the host's
// drivers journaled, which it can only do with drivers configured as the
// host's are. It only parses variables and constructs drivers; what a host
// mounts around them (routes, pollers) stays the host's.
//
// Every gateway is off unless its <NAME>_ENABLED variable is true; an
// enabled gateway whose variables do not configure it is an error naming
// the variable, never quoting a secret.
package gatewayenv

import (
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/gateway/googleplay"
	"github.com/payrail/payments/gateway/payeer"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/gateway/stripe"
)

// env reads one environment variable: os.Getenv in a command, a map in
// tests.
type env func(name string) string

// builder is one gateway this package can build.
type builder struct {
	// gateway is the driver's default name, which the environment cannot
	// change: the webhook path /{gateway}-handleWebhookEvents and the name
	// its notifications are journaled under.
	gateway string
	// enabledVar switches it on; build reads it too, and returns nil
	// when it is not true.
	enabledVar string
	build      func(env env, log *slog.Logger) (payments.Gateway, error)
}

// builders is every gateway this package builds, in the order FromEnv
// returns them. Adding one is writing its build function and listing it
// here.
var builders = []builder{
	{stripe.DefaultName, "STRIPE_ENABLED", stripeFromEnv},
	{paypal.DefaultName, "PAYPAL_ENABLED", paypalFromEnv},
	{cryptomus.DefaultName, "CRYPTOMUS_ENABLED", cryptomusFromEnv},
	{payeer.DefaultName, "PAYEER_ENABLED", payeerFromEnv},
	{anypay.DefaultName, "ANYPAY_ENABLED", anypayFromEnv},
	{appstore.DefaultName, "APPSTORE_ENABLED", appstoreFromEnv},
	{googleplay.DefaultName, "GOOGLE_PLAY_ENABLED", googleplayFromEnv},
}

// FromEnv builds every gateway the environment enables, in a fixed order
// (Stripe, PayPal, Cryptomus, Payeer, Anypay, App Store, Google Play).
// None enabled is an empty list, not an error: whether a host may run
// without a gateway is the host's decision. The first misconfigured
// gateway stops it. log receives the drivers' logs, each with a "gateway"
// attribute; nil discards them.
func FromEnv(getenv func(string) string, log *slog.Logger) ([]payments.Gateway, error) {
	var out []payments.Gateway
	for _, b := range builders {
		g, err := b.build(getenv, orDiscard(log))
		if err != nil {
			return nil, err
		}
		if g != nil {
			out = append(out, g)
		}
	}
	return out, nil
}

// Gateway builds the one gateway called name as FromEnv would, reading only
// its own variables, so that a tool that needs one driver is not stopped
// by another gateway's configuration (a key file that exists only on the
// host). It returns nil, and no error, when the gateway is not enabled or
// is not one this package builds; EnabledVar tells the two apart.
func Gateway(getenv func(string) string, log *slog.Logger, name string) (payments.Gateway, error) {
	for _, b := range builders {
		if b.gateway == name {
			return b.build(getenv, orDiscard(log))
		}
	}
	return nil, nil
}

// EnabledVar is the variable that enables the gateway called name
// ("STRIPE_ENABLED" for "stripe"), or "" when this package does not build
// it, so that a caller can tell an operator what to set.
func EnabledVar(name string) string {
	for _, b := range builders {
		if b.gateway == name {
			return b.enabledVar
		}
	}
	return ""
}

// EnabledVars lists every gateway's enabling variable in FromEnv's order,
// for a message saying that none is set.
func EnabledVars() []string {
	out := make([]string, len(builders))
	for i, b := range builders {
		out[i] = b.enabledVar
	}
	return out
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
