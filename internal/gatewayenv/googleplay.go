package gatewayenv

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// googleplayFromEnv reads GOOGLE_PLAY_ENABLED and, when it is set:
// GOOGLE_PLAY_SECRET_FILE, the service account's JSON key itself (its
// contents, not a path to it, as the backend this library grew from keeps
// it); GOOGLE_PLAY_PACKAGE_NAME; GOOGLE_PLAY_PUSH_AUDIENCE and
// GOOGLE_PLAY_PUSH_SERVICE_ACCOUNT, the audience and the service account of
// the Pub/Sub push subscription's tokens; GOOGLE_PLAY_PRICES, the
// catalogue ("coins_100=0.99 USD,premium/monthly=4.99 USD"); and the
// optional GOOGLE_PLAY_CONSUMABLES and GOOGLE_PLAY_SUBSCRIPTIONS
// (comma-separated product ids), GOOGLE_PLAY_ORDERS_API and
// GOOGLE_PLAY_REFUSE_TEST_PURCHASES.
func googleplayFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "GOOGLE_PLAY_ENABLED"); err != nil || !on {
		return nil, err
	}
	ordersAPI, err := envBool(env, "GOOGLE_PLAY_ORDERS_API")
	if err != nil {
		return nil, err
	}
	refuseTest, err := envBool(env, "GOOGLE_PLAY_REFUSE_TEST_PURCHASES")
	if err != nil {
		return nil, err
	}
	secret := strings.TrimSpace(env("GOOGLE_PLAY_SECRET_FILE"))
	switch {
	case secret == "":
		return nil, errors.New("GOOGLE_PLAY_ENABLED is set but GOOGLE_PLAY_SECRET_FILE is empty")
	case !strings.HasPrefix(secret, "{"):
		// Never echoed: it may be the key after all, mangled.
		return nil, errors.New("GOOGLE_PLAY_SECRET_FILE must hold the service account key's JSON contents, not a path to the file")
	}
	for _, name := range []string{"GOOGLE_PLAY_PACKAGE_NAME", "GOOGLE_PLAY_PUSH_AUDIENCE", "GOOGLE_PLAY_PUSH_SERVICE_ACCOUNT"} {
		if strings.TrimSpace(env(name)) == "" {
			return nil, fmt.Errorf("GOOGLE_PLAY_ENABLED is set but %s is empty", name)
		}
	}
	prices, err := pricesFromEnv(env, "GOOGLE_PLAY_PRICES")
	if err != nil {
		return nil, err
	}
	return googleplay.New(googleplay.Config{
		PackageName:         strings.TrimSpace(env("GOOGLE_PLAY_PACKAGE_NAME")),
		ServiceAccountJSON:  []byte(secret),
		PushAudience:        strings.TrimSpace(env("GOOGLE_PLAY_PUSH_AUDIENCE")),
		PushServiceAccount:  strings.TrimSpace(env("GOOGLE_PLAY_PUSH_SERVICE_ACCOUNT")),
		Prices:              prices,
		OrdersAPI:           ordersAPI,
		Consumables:         envList(env, "GOOGLE_PLAY_CONSUMABLES"),
		Subscriptions:       envList(env, "GOOGLE_PLAY_SUBSCRIPTIONS"),
		RefuseTestPurchases: refuseTest,
		Logger:              log.With("gateway", googleplay.DefaultName),
	})
}

// pricesFromEnv reads a catalogue: comma-separated "product=amount
// currency" pairs, the amount a decimal string exact in its currency.
func pricesFromEnv(env env, name string) (map[string]payments.Money, error) {
	prices := map[string]payments.Money{}
	for _, pair := range envList(env, name) {
		product, price, ok := strings.Cut(pair, "=")
		amount, currency, ok2 := strings.Cut(strings.TrimSpace(price), " ")
		product = strings.TrimSpace(product)
		if !ok || !ok2 || product == "" {
			return nil, fmt.Errorf("%s: %q is not product=amount currency (coins_100=0.99 USD)", name, pair)
		}
		m, err := payments.ParseMoney(strings.TrimSpace(amount), strings.TrimSpace(currency))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", name, product, err)
		}
		if _, dup := prices[product]; dup {
			return nil, fmt.Errorf("%s: %s is priced twice", name, product)
		}
		prices[product] = m
	}
	return prices, nil
}
