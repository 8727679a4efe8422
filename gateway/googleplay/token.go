package googleplay

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/api/idtoken"
	"google.golang.org/api/option"

	"github.com/payrail/payments"
)

// TokenValidator checks a Google-signed OpenID Connect token: its signature
// against Google's published keys, its expiry and, when audience is not
// empty, its audience, and returns its claims. *idtoken.Validator is one.
type TokenValidator interface {
	Validate(ctx context.Context, token, audience string) (*idtoken.Payload, error)
}

// ClockSkew is how far in the future a push token's issue time may be:
// idtoken checks the expiry but not the issue time, and a token "issued"
// later than now would stay valid for longer than Google ever issues one.
const ClockSkew = 5 * time.Minute

// pushAuth authenticates Pub/Sub push requests.
type pushAuth struct {
	validator TokenValidator
	audience  string
	email     string
	now       func() time.Time
}

func newPushAuth(cfg Config, now func() time.Time) (pushAuth, error) {
	a := pushAuth{validator: cfg.TokenValidator, audience: cfg.PushAudience,
		email: strings.ToLower(strings.TrimSpace(cfg.PushServiceAccount)), now: now}
	if a.validator != nil {
		return a, nil
	}
	client := cfg.TokenKeysClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	probed := *client
	probed.Transport = probingTransport{base: client.Transport}
	v, err := idtoken.NewValidator(context.Background(), option.WithHTTPClient(&probed))
	if err != nil {
		return a, fmt.Errorf("googleplay: token validator: %w", err)
	}
	a.validator = v
	return a, nil
}

// verify authenticates one push request: an "Authorization: Bearer" OIDC
// token that idtoken validates (signature, expiry, audience) and whose
// claims are those Pub/Sub signs for the configured subscription
// (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions):
// iss accounts.google.com or https://accounts.google.com, email the push
// service account, email_verified true, and an issue time not in the
// future.
//
// A replay is not checked: Service.Replay only replays what verified when it
// arrived, and the token cannot be checked again, because the journal never
// keeps it (a bearer credential, payments.HeaderNamer), it expires within
// the hour, and Google rotates the keys that sign it. What a notification
// records comes from the Developer API, not from its body.
func (a pushAuth) verify(ctx context.Context, req *payments.WebhookRequest) error {
	if req.Replay {
		return nil
	}
	token, ok := bearerToken(req.Header)
	if !ok {
		return fmt.Errorf("googleplay: no Authorization: Bearer token (is authentication enabled on the push subscription?): %w", payments.ErrUnauthenticated)
	}
	probe := &keysProbe{}
	payload, err := a.validator.Validate(context.WithValue(ctx, keysProbeKey{}, probe), token, a.audience)
	if err != nil {
		if probe.failed.Load() || ctx.Err() != nil {
			// Not the sender's fault: answer 500 so that Pub/Sub delivers
			// again once Google's keys can be fetched.
			return fmt.Errorf("googleplay: push token not checked, Google's signing keys are out of reach: %v", err)
		}
		return fmt.Errorf("googleplay: push token: %v: %w", err, payments.ErrUnauthenticated)
	}
	return a.checkClaims(payload)
}

// checkClaims checks what idtoken leaves to the caller.
func (a pushAuth) checkClaims(p *idtoken.Payload) error {
	unauthenticated := func(format string, args ...any) error {
		return fmt.Errorf("googleplay: push token "+format+": %w", append(args, payments.ErrUnauthenticated)...)
	}
	if p.Issuer != "accounts.google.com" && p.Issuer != "https://accounts.google.com" {
		return unauthenticated("issuer %q is not Google's", p.Issuer)
	}
	email, _ := p.Claims["email"].(string)
	if !strings.EqualFold(email, a.email) {
		return unauthenticated("is for %q, not the push service account", email)
	}
	if verified, _ := p.Claims["email_verified"].(bool); !verified {
		return unauthenticated("email is not verified")
	}
	if issued := time.Unix(p.IssuedAt, 0); p.IssuedAt == 0 || issued.After(a.now().Add(ClockSkew)) {
		return unauthenticated("issue time %d is missing or in the future", p.IssuedAt)
	}
	return nil
}

// bearerToken reads "Authorization: Bearer <token>".
func bearerToken(h http.Header) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h.Get("Authorization")), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// keysProbe records that fetching Google's keys failed during one
// validation, which idtoken reports as an error like any other: a token
// that cannot be checked is not a token that failed the check.
type keysProbe struct{ failed atomic.Bool }

type keysProbeKey struct{}

// probingTransport marks the probe in the request's context when a key
// fetch fails or is not answered 200.
type probingTransport struct{ base http.RoundTripper }

func (t probingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if p, ok := r.Context().Value(keysProbeKey{}).(*keysProbe); ok && (err != nil || resp.StatusCode != http.StatusOK) {
		p.failed.Store(true)
	}
	return resp, err
}
