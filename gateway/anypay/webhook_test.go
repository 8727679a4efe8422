package anypay_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
)

const paidID = "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4"

func TestParseWebhookFixtures(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		fixture  string
		md5      bool
		payments []payments.PaymentUpdate
		entries  []payments.Entry
	}{
		{"notification_paid.form", false,
			[]payments.PaymentUpdate{{GatewayID: paidID, PaymentID: paidID, Status: payments.StatusSucceeded, Amount: rub(t, "100.00")}},
			[]payments.Entry{{Gateway: "anypay", Kind: payments.KindCharge, GatewayRef: paidID, GatewayPaymentID: paidID,
				PaymentID: paidID, Amount: rub(t, "100.00"), OccurredAt: received}}},
		{"notification_paid_md5.form", true,
			[]payments.PaymentUpdate{{GatewayID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5", PaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5",
				Status: payments.StatusSucceeded, Amount: rub(t, "100.00")}},
			[]payments.Entry{{Gateway: "anypay", Kind: payments.KindCharge, GatewayRef: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5",
				GatewayPaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5", PaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5",
				Amount: rub(t, "100.00"), OccurredAt: received}}},
		{"notification_waiting.form", false,
			[]payments.PaymentUpdate{{GatewayID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6", PaymentID: "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6",
				Status: payments.StatusPending, Amount: rub(t, "100.00")}}, nil},
		{"notification_foreign.form", false,
			[]payments.PaymentUpdate{{GatewayID: "12345", Status: payments.StatusSucceeded, Amount: rub(t, "100.00")}},
			[]payments.Entry{{Gateway: "anypay", Kind: payments.KindCharge, GatewayRef: "12345", GatewayPaymentID: "12345",
				Amount: rub(t, "100.00"), OccurredAt: received}}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			req := notificationRequest(readFixture(t, tc.fixture))
			req.ReceivedAt = received
			peer := newFakeAnypay(t, tc.md5)
			peer.hold("pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5", rub(t, "100.00"))
			c, err := newGateway(t, peer.config).ParseWebhook(t.Context(), req)
			require.NoError(t, err)
			assert.Equal(t, tc.payments, c.Payments)
			assert.Equal(t, tc.entries, c.Entries)
			assert.NoError(t, c.Validate("anypay"))
			assert.Equal(t, tc.md5, strings.Contains(c.Note, "MD5"))
		})
	}
}

// TestUnsignedFieldsChangeNothing: transaction_id, profit, email, method,
// the dates, test and any parameter of the shop's are not signed. They may
// say anything, and the charge, keyed by the signed pay_id, is the same:
// a replay with another transaction_id books nothing twice.
func TestUnsignedFieldsChangeNothing(t *testing.T) {
	g := newGateway(t)
	body := string(readFixture(t, "notification_paid.form"))
	want, err := g.ParseWebhook(t.Context(), notificationRequest([]byte(body)))
	require.NoError(t, err)
	for _, changed := range []string{
		strings.Replace(body, "transaction_id=4950030", "transaction_id=4950031", 1),
		strings.Replace(body, "profit=95.00", "profit=99999.00", 1),
		strings.Replace(body, "test=0", "test=1", 1),
		strings.Replace(body, "method=card", "method=btc", 1),
		body + "&account=attacker&reference=x",
		string(withoutField(withoutField([]byte(body), "transaction_id"), "email")),
	} {
		got, err := g.ParseWebhook(t.Context(), notificationRequest([]byte(changed)))
		require.NoError(t, err, changed)
		assert.Equal(t, want, got, changed)
	}
}

func TestRejectsWhatItCannotAuthenticate(t *testing.T) {
	body := string(readFixture(t, "notification_paid.form"))
	for _, tc := range []struct{ name, body string }{
		{"amount raised", strings.Replace(body, "amount=100.00", "amount=1000.00", 1)},
		{"currency changed", strings.Replace(body, "currency=RUB", "currency=USD", 1)},
		{"status changed", strings.Replace(string(readFixture(t, "notification_waiting.form")), "status=waiting", "status=paid", 1)},
		{"pay_id changed", strings.Replace(body, paidID, "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3ff", 1)},
		{"merchant changed", strings.Replace(body, "merchant_id=1399", "merchant_id=1400", 1)},
		{"sign upper-cased", strings.Replace(body, "sign=7d069f3774bd", "sign=7D069F3774BD", 1)},
		{"no sign", string(withoutField([]byte(body), "sign"))},
		{"signed field repeated", body + "&amount=1000.00"},
		{"sign repeated", body + "&sign=00"},
		{"md5 sign without SignMD5", string(readFixture(t, "notification_paid_md5.form"))},
		{"not a form", "%zz&" + body},
		{"JSON", `{"pay_id":"1"}`},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newGateway(t).ParseWebhook(t.Context(), notificationRequest([]byte(tc.body)))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated)
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		_, err := newGateway(t, func(c *anypay.Config) { c.SecretKey = "another" }).ParseWebhook(t.Context(), notificationRequest([]byte(body)))
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
	t.Run("another project with the same key", func(t *testing.T) {
		_, err := newGateway(t, func(c *anypay.Config) { c.MerchantID = "2000" }).ParseWebhook(t.Context(), notificationRequest([]byte(body)))
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
		assert.Contains(t, err.Error(), "not this project")
	})
	t.Run("nil request", func(t *testing.T) {
		_, err := newGateway(t).ParseWebhook(t.Context(), nil)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
}

// TestMD5TakesStatusAndCurrencyFromTheAPI: the legacy MD5 sign covers
// neither a notification's status nor its currency, so under SignMD5 the
// driver takes both from Anypay's API: rewriting them in a captured
// notification changes nothing, a payment Anypay holds as waiting books
// nothing whatever the notification says, and one Anypay does not hold is
// refused.
func TestMD5TakesStatusAndCurrencyFromTheAPI(t *testing.T) {
	peer := newFakeAnypay(t, true)
	g := newGateway(t, peer.config)
	const payID = "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5"
	body := string(readFixture(t, "notification_paid_md5.form"))
	_, err := g.ParseWebhook(t.Context(), notificationRequest([]byte(body)))
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "Anypay holds no such payment")

	peer.hold(payID, rub(t, "100.00"))
	want, err := g.ParseWebhook(t.Context(), notificationRequest([]byte(body)))
	require.NoError(t, err)
	require.Len(t, want.Entries, 1)
	assert.Equal(t, rub(t, "100.00"), want.Entries[0].Amount)
	assert.Contains(t, want.Note, "legacy MD5")
	for _, changed := range []string{
		strings.Replace(body, "currency=RUB", "currency=USD", 1),
		strings.Replace(body, "status=paid", "status=canceled", 1),
	} {
		c, err := g.ParseWebhook(t.Context(), notificationRequest([]byte(changed)))
		require.NoError(t, err, changed)
		assert.Equal(t, want.Entries, c.Entries, "what MD5 leaves unsigned is Anypay's to say: %s", changed)
	}
	_, err = g.ParseWebhook(t.Context(), notificationRequest([]byte(strings.Replace(body, "amount=100.00", "amount=1000.00", 1))))
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "MD5 does sign the amount")

	peer.mu.Lock()
	peer.payments[payID].Status = "waiting"
	peer.mu.Unlock()
	c, err := g.ParseWebhook(t.Context(), notificationRequest([]byte(body)))
	require.NoError(t, err)
	assert.Empty(t, c.Entries, "Anypay holds it as waiting: the notification's 'paid' books nothing")

	peer.server.Close()
	_, err = g.ParseWebhook(t.Context(), notificationRequest([]byte(body)))
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrUnauthenticated, "the API down is no verdict: Anypay sends it again")
	assert.NotErrorIs(t, err, payments.ErrInvalidInput)

	_, err = g.ParseWebhook(t.Context(), notificationRequest(readFixture(t, "notification_paid.form")))
	assert.NoError(t, err, "a SHA-256 sign verifies under SignMD5 too, and needs no lookup")
}

func TestVerifiedButNotUnderstood(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    field
	}{
		{"amount with more decimals than RUB", field{"amount", "100.001"}},
		{"amount not a number", field{"amount", "100,00"}},
		{"unknown currency", field{"currency", "XYZ"}},
		{"zero amount", field{"amount", "0"}},
		{"negative amount", field{"amount", "-1.00"}},
		{"empty pay_id", field{"pay_id", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newGateway(t).ParseWebhook(t.Context(), notificationRequest(encodeNotification(notificationFields(tc.f), testSecret, false)))
			assert.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.NotErrorIs(t, err, payments.ErrUnauthenticated)
		})
	}
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		status string
		want   payments.Status
	}{
		{"waiting", payments.StatusPending}, {"canceled", payments.StatusCanceled},
		{"expired", payments.StatusExpired}, {"error", payments.StatusFailed},
	} {
		c, err := newGateway(t).ParseWebhook(t.Context(), notificationRequest(encodeNotification(notificationFields(field{"status", tc.status}), testSecret, false)))
		require.NoError(t, err, tc.status)
		assert.Empty(t, c.Entries, tc.status)
		assert.Equal(t, tc.want, c.Payments[0].Status, tc.status)
	}
	for _, status := range []string{"refund", "", "PAID", "in_progress"} {
		c, err := newGateway(t).ParseWebhook(t.Context(), notificationRequest(encodeNotification(notificationFields(field{"status", status}), testSecret, false)))
		require.NoError(t, err, status)
		assert.True(t, c.Empty(), status)
		assert.Contains(t, c.Note, "moves nothing")
	}
}

func TestSenderIP(t *testing.T) {
	body := readFixture(t, "notification_paid.form")
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name   string
		cfg    func(*anypay.Config)
		remote string
		header http.Header
		ok     bool
	}{
		{"unchecked: any sender", func(*anypay.Config) {}, "203.0.113.7:1", nil, true},
		{"another address", func(c *anypay.Config) { c.CheckSenderIP = true }, "203.0.113.7:1", nil, false},
		{"forged X-Forwarded-For without a trusted proxy", func(c *anypay.Config) { c.CheckSenderIP = true },
			"203.0.113.7:1", http.Header{"X-Forwarded-For": {anypayIP}}, false},
		{"through a trusted proxy", func(c *anypay.Config) { c.CheckSenderIP, c.TrustedProxies = true, proxies },
			"10.0.0.2:1", http.Header{"X-Forwarded-For": {anypayIP}}, true},
		{"client-invented hop behind the proxy", func(c *anypay.Config) { c.CheckSenderIP, c.TrustedProxies = true, proxies },
			"10.0.0.2:1", http.Header{"X-Forwarded-For": {anypayIP + ", 203.0.113.7"}}, false},
		{"malformed remote address", func(c *anypay.Config) { c.CheckSenderIP = true }, "", nil, false},
		{"configured addresses replace the published ones", func(c *anypay.Config) {
			c.CheckSenderIP, c.SenderIPs = true, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}
		}, anypayIP + ":1", nil, false},
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
	for _, ip := range anypay.DefaultSenderIPs {
		_, err := newGateway(t, func(c *anypay.Config) { c.CheckSenderIP = true }).ParseWebhook(t.Context(), &payments.WebhookRequest{Body: body, RemoteAddr: ip + ":443"})
		assert.NoError(t, err, ip)
	}
	assert.Empty(t, newGateway(t).WebhookHeaders())
	assert.Equal(t, []string{"X-Forwarded-For"}, newGateway(t, func(c *anypay.Config) { c.CheckSenderIP, c.TrustedProxies = true, proxies }).WebhookHeaders())
}
