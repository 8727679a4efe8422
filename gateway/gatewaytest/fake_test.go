package gatewaytest_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
)

func TestFakeConformance(t *testing.T) {
	fake := gatewaytest.NewFake("whsec_test")
	n := 0
	event := func() gatewaytest.Event {
		n++
		return gatewaytest.Event{
			ID: "evt_" + string(rune('a'+n)), Type: "payment.succeeded", PaymentID: "fp_conf",
			Account: "user-1", Amount: "12.34", Currency: "EUR",
		}
	}
	gatewaytest.RunConformance(t, gatewaytest.Harness{
		Gateway: fake,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return fake.Request(event(), at)
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return gatewaytest.NewFake("whsec_other").Request(event(), at)
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			req.Header.Del(gatewaytest.SignatureHeader)
		},
		Tolerance: 5 * time.Minute,
		Sign: func(body []byte) *payments.WebhookRequest {
			return &payments.WebhookRequest{Header: fake.Sign(body, time.Now()), Body: body}
		},
	})
}

func FuzzFakeWebhook(f *testing.F) {
	fake := gatewaytest.NewFake("whsec_fuzz")
	paths, err := filepath.Glob("testdata/*.json")
	require.NoError(f, err)
	require.NotEmpty(f, paths)
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		seeds = append(seeds, b)
	}
	gatewaytest.FuzzWebhook(f, fake, func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Header: fake.Sign(body, time.Now()), Body: body}
	}, seeds...)
}

func TestFakeRejectsMalformedSignatureHeader(t *testing.T) {
	fake := gatewaytest.NewFake("k")
	for _, h := range []string{"", "t=abc,v1=00", "t=1", "v1=zz", "t=1,v1=nothex"} {
		req := &payments.WebhookRequest{Header: http.Header{gatewaytest.SignatureHeader: {h}}, Body: []byte(`{}`)}
		_, err := fake.ParseWebhook(t.Context(), req)
		require.ErrorIs(t, err, payments.ErrUnauthenticated, h)
	}
}
