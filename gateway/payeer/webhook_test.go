package payeer_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
)

const successOrder = "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4"

func TestParseWebhookFixtures(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		fixture  string
		payments []payments.PaymentUpdate
		entries  []payments.Entry
		event    string
	}{
		{"callback_success.form",
			[]payments.PaymentUpdate{{GatewayID: successOrder, PaymentID: successOrder, Status: payments.StatusSucceeded, Amount: usd(t, "25.00")}},
			[]payments.Entry{{Gateway: "payeer", Kind: payments.KindCharge, GatewayRef: "1293284312", GatewayPaymentID: successOrder,
				PaymentID: successOrder, Amount: usd(t, "25.00"), OccurredAt: received}},
			"1293284312:success"},
		{"callback_fail.form",
			[]payments.PaymentUpdate{{GatewayID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5", PaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5",
				Status: payments.StatusFailed, Amount: usd(t, "25.00")}},
			nil, "1293284313:fail"},
		{"callback_foreign.form",
			[]payments.PaymentUpdate{{GatewayID: "shop-1001", Status: payments.StatusSucceeded, Amount: payments.Money{Amount: 1050, Currency: "RUB"}}},
			[]payments.Entry{{Gateway: "payeer", Kind: payments.KindCharge, GatewayRef: "1293284314", GatewayPaymentID: "shop-1001",
				Amount: payments.Money{Amount: 1050, Currency: "RUB"}, OccurredAt: received}},
			"1293284314:success"},
		{"callback_params.form",
			[]payments.PaymentUpdate{{GatewayID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6", PaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6",
				Status: payments.StatusSucceeded, Account: "user-42", Reference: "order:1001:k3j2h1", Amount: usd(t, "25.00")}},
			[]payments.Entry{{Gateway: "payeer", Kind: payments.KindCharge, GatewayRef: "1293284315", GatewayPaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6",
				PaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6", Account: "user-42", Reference: "order:1001:k3j2h1",
				Amount: usd(t, "25.00"), OccurredAt: received}},
			"1293284315:success"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			req := callbackRequest(readFixture(t, tc.fixture))
			req.ReceivedAt = received
			c, err := newGateway(t).ParseWebhook(t.Context(), req)
			require.NoError(t, err)
			assert.Equal(t, tc.payments, c.Payments)
			assert.Equal(t, tc.entries, c.Entries)
			assert.Equal(t, tc.event, c.EventID)
			assert.NoError(t, c.Validate("payeer"))
		})
	}
}

// TestParseWebhookPercentEncodings: a form whose spaces are %20 and whose
// colons are not escaped, as the live callback of Purt09/payeer-php-sdk's
// testCheckSign has them, reads as the same callback.
func TestParseWebhookPercentEncodings(t *testing.T) {
	g := newGateway(t)
	body := readFixture(t, "callback_success.form")
	want, err := g.ParseWebhook(t.Context(), callbackRequest(body))
	require.NoError(t, err)
	got, err := g.ParseWebhook(t.Context(), callbackRequest(rawEncoded(body)))
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestUnsignedFieldsChangeNothing: Payeer signs only its own fields. Those
// it adds unsigned (summa_out, client_email, lang, …), and any a forger
// adds, may say anything: what the driver reports is the same.
func TestUnsignedFieldsChangeNothing(t *testing.T) {
	g := newGateway(t)
	body := readFixture(t, "callback_success.form")
	want, err := g.ParseWebhook(t.Context(), callbackRequest(body))
	require.NoError(t, err)
	for _, extra := range []string{
		strings.Replace(string(body), "summa_out=25.00", "summa_out=99999.00", 1),
		strings.Replace(string(body), "client_email=client%40example.com", "client_email=x", 1),
		string(body) + "&m_amount_real=1000.00&account=attacker&reference=x",
		string(withoutField(body, "lang")),
	} {
		got, err := g.ParseWebhook(t.Context(), callbackRequest([]byte(extra)))
		require.NoError(t, err, extra)
		assert.Equal(t, want, got, extra)
	}
}

// TestRejectsWhatItCannotAuthenticate: every change to a signed field, a
// missing or repeated field, another key or another shop fails with
// ErrUnauthenticated; nothing is translated.
func TestRejectsWhatItCannotAuthenticate(t *testing.T) {
	body := string(readFixture(t, "callback_success.form"))
	params := string(readFixture(t, "callback_params.form"))
	for _, tc := range []struct{ name, body string }{
		{"amount raised", strings.Replace(body, "m_amount=25.00", "m_amount=2500.00", 1)},
		{"currency changed", strings.Replace(body, "m_curr=USD", "m_curr=EUR", 1)},
		{"status changed", strings.Replace(readFixtureString(t, "callback_fail.form"), "m_status=fail", "m_status=success", 1)},
		{"order changed", strings.Replace(body, successOrder, "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3ff", 1)},
		{"operation changed", strings.Replace(body, "m_operation_id=1293284312", "m_operation_id=1293284399", 1)},
		{"sign lower-cased", strings.Replace(body, "m_sign=BCC064AFF9E4", "m_sign=bcc064aff9e4", 1)},
		{"no m_sign", string(withoutField([]byte(body), "m_sign"))},
		{"no m_operation_id", string(withoutField([]byte(body), "m_operation_id"))},
		{"m_params added", body + "&m_params=%7B%7D"},
		{"m_params removed", string(withoutField([]byte(params), "m_params"))},
		{"m_params account changed", strings.Replace(params, "user-42", "user-43", 1)},
		{"signed field repeated", body + "&m_amount=2500.00"},
		{"m_sign repeated", body + "&m_sign=00"},
		{"not a form", "%zz&" + body},
		{"JSON", `{"m_operation_id":"1"}`},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newGateway(t).ParseWebhook(t.Context(), callbackRequest([]byte(tc.body)))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated)
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		_, err := newGateway(t, func(c *payeer.Config) { c.SecretKey = "another-key" }).ParseWebhook(t.Context(), callbackRequest([]byte(body)))
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
	t.Run("another shop with the same key", func(t *testing.T) {
		_, err := newGateway(t, func(c *payeer.Config) { c.ShopID = "111111111" }).ParseWebhook(t.Context(), callbackRequest([]byte(body)))
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
		assert.Contains(t, err.Error(), "not this shop")
	})
	t.Run("nil request", func(t *testing.T) {
		_, err := newGateway(t).ParseWebhook(t.Context(), nil)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
}

// TestVerifiedButNotUnderstood: a callback that verified but whose fields
// cannot be booked is invalid input (400), never unauthenticated.
func TestVerifiedButNotUnderstood(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    field
	}{
		{"amount with more decimals than USD", field{"m_amount", "25.001"}},
		{"amount not a number", field{"m_amount", "25,00"}},
		{"unknown currency", field{"m_curr", "XYZ"}},
		{"zero amount", field{"m_amount", "0.00"}},
		{"negative amount", field{"m_amount", "-25.00"}},
		{"empty operation", field{"m_operation_id", ""}},
		{"empty order", field{"m_orderid", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newGateway(t).ParseWebhook(t.Context(), callbackRequest(encodeCallback(callbackFields(tc.f), testKey)))
			assert.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.NotErrorIs(t, err, payments.ErrUnauthenticated)
		})
	}
}

func TestStatusesThatMoveNoMoney(t *testing.T) {
	for _, status := range []string{"", "wait", "process", "SUCCESS"} {
		c, err := newGateway(t).ParseWebhook(t.Context(), callbackRequest(encodeCallback(callbackFields(field{"m_status", status}), testKey)))
		require.NoError(t, err, status)
		assert.True(t, c.Empty(), status)
		assert.Contains(t, c.Note, "moves nothing")
	}
	// A failed payment moves its status, with no money, whatever its amount.
	c, err := newGateway(t).ParseWebhook(t.Context(), callbackRequest(encodeCallback(callbackFields(field{"m_status", "fail"}, field{"m_amount", "x"}), testKey)))
	require.NoError(t, err)
	assert.Empty(t, c.Entries)
	assert.Equal(t, payments.StatusFailed, c.Payments[0].Status)
}

// TestEchoedReference: what m_params brings back is read only as the JSON
// the checkout put in it; anything else names no account.
func TestEchoedReference(t *testing.T) {
	for _, tc := range []struct{ params, account, reference string }{
		{`{"reference":{"account":"user-7","reference":"order:1:x"}}`, "user-7", "order:1:x"},
		{`{"reference":{"account":"user-7"},"success_url":"https://shop.example/ok"}`, "user-7", ""},
		{`{"reference":{"account":7}}`, "", ""},
		{`{"reference":["user-7"]}`, "", ""},
		{`{"success_url":"https://shop.example/ok"}`, "", ""},
		{`2rAP8XrZBDHEvYzFVIh4D9eBIZmnma22xlt2xjeIt2x2GvLjcvErtkT6W0nmcH%2BtAw`, "", ""},
		{`{not json`, "", ""},
		{``, "", ""},
		{`{"reference":{"account":"` + strings.Repeat("a", 300) + `"}}`, "", ""},
	} {
		c, err := newGateway(t).ParseWebhook(t.Context(), callbackRequest(encodeCallback(callbackFields(field{"m_params", tc.params}), testKey)))
		require.NoError(t, err, tc.params)
		assert.Equal(t, tc.account, c.Payments[0].Account, tc.params)
		assert.Equal(t, tc.reference, c.Payments[0].Reference, tc.params)
		assert.Equal(t, tc.account, c.Entries[0].Account, tc.params)
	}
}

func TestSenderIP(t *testing.T) {
	body := readFixture(t, "callback_success.form")
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name   string
		cfg    func(*payeer.Config)
		remote string
		header http.Header
		ok     bool
	}{
		{"unchecked: any sender", func(*payeer.Config) {}, "203.0.113.7:1", nil, true},
		{"each published address", func(c *payeer.Config) { c.CheckSenderIP = true }, "149.202.17.210:1", nil, true},
		{"another address", func(c *payeer.Config) { c.CheckSenderIP = true }, "203.0.113.7:1", nil, false},
		{"forged X-Forwarded-For without a trusted proxy", func(c *payeer.Config) { c.CheckSenderIP = true },
			"203.0.113.7:1", http.Header{"X-Forwarded-For": {payeerIP}}, false},
		{"through a trusted proxy", func(c *payeer.Config) { c.CheckSenderIP, c.TrustedProxies = true, proxies },
			"10.0.0.2:1", http.Header{"X-Forwarded-For": {payeerIP}}, true},
		{"client-invented hop behind the proxy", func(c *payeer.Config) { c.CheckSenderIP, c.TrustedProxies = true, proxies },
			"10.0.0.2:1", http.Header{"X-Forwarded-For": {payeerIP + ", 203.0.113.7"}}, false},
		{"the proxy itself", func(c *payeer.Config) { c.CheckSenderIP, c.TrustedProxies = true, proxies }, "10.0.0.2:1", nil, false},
		{"malformed remote address", func(c *payeer.Config) { c.CheckSenderIP = true }, "unix", nil, false},
		{"configured addresses replace the published ones", func(c *payeer.Config) {
			c.CheckSenderIP, c.SenderIPs = true, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
		}, payeerIP + ":1", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newGateway(t, tc.cfg).ParseWebhook(t.Context(), &payments.WebhookRequest{Body: body, RemoteAddr: tc.remote, Header: tc.header})
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, payments.ErrUnauthenticated)
			}
		})
	}
	for _, ip := range payeer.DefaultSenderIPs {
		_, err := newGateway(t, func(c *payeer.Config) { c.CheckSenderIP = true }).ParseWebhook(t.Context(), &payments.WebhookRequest{Body: body, RemoteAddr: ip + ":443"})
		assert.NoError(t, err, ip)
	}
}

func TestWebhookHeaders(t *testing.T) {
	assert.Empty(t, newGateway(t).WebhookHeaders())
	assert.Empty(t, newGateway(t, func(c *payeer.Config) { c.CheckSenderIP = true }).WebhookHeaders(), "no proxy: the peer address is in the journal")
	assert.Equal(t, []string{"X-Forwarded-For"}, newGateway(t, func(c *payeer.Config) {
		c.CheckSenderIP, c.TrustedProxies = true, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	}).WebhookHeaders())
}

func readFixtureString(t testing.TB, name string) string { return string(readFixture(t, name)) }

// TestEncryptedParamsEcho: should Payeer bring m_params back as the
// checkout encrypted it, rather than decrypted, the reference is read with
// the ParamsKey all the same.
func TestEncryptedParamsEcho(t *testing.T) {
	order := "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4"
	encrypted := payeer.EncryptParams(testParamsKey, order, []byte(`{"reference":{"account":"user-9"}}`))
	body := encodeCallback(callbackFields(field{"m_params", encrypted}), testKey)
	c, err := newGateway(t, func(c *payeer.Config) { c.ParamsKey = testParamsKey }).ParseWebhook(t.Context(), callbackRequest(body))
	require.NoError(t, err)
	assert.Equal(t, "user-9", c.Payments[0].Account)
	c, err = newGateway(t).ParseWebhook(t.Context(), callbackRequest(body))
	require.NoError(t, err, "without the key it still verifies")
	assert.Empty(t, c.Payments[0].Account)
	c, err = newGateway(t, func(c *payeer.Config) { c.ParamsKey = "another-key" }).ParseWebhook(t.Context(), callbackRequest(body))
	require.NoError(t, err, "a key that does not decrypt it names no account")
	assert.Empty(t, c.Payments[0].Account)
}
