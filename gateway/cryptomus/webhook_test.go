package cryptomus_test

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
)

const paidUUID = "62f88b36-a9d5-4fa6-aa26-e040c3dbf26d"

func usd(t *testing.T, amount string) payments.Money {
	m, err := payments.ParseMoney(amount, "USD")
	require.NoError(t, err)
	return m
}

// TestSignVectors pins the signing formula to vectors computed outside Go
// (php -r 'echo md5(base64_encode($body) . $key);').
func TestSignVectors(t *testing.T) {
	for _, v := range []struct{ body, key, want string }{
		{"", "TEST_KEY", "58cf16b25485a0116b85806bba9ca7e4"},
		{`{"amount":"15","currency":"USD","order_id":"1"}`, "TEST_KEY", "693f627fa2ed2a15d4f05eb72068e719"},
		{`{"amount":10,"currency":"usd","order_id":"OrDeRiD"}`, "bcda", "0f66e9e002a45d4285cc77a227dadfeb"},
	} {
		assert.Equal(t, v.want, cryptomus.Sign([]byte(v.body), v.key), v.body)
	}
}

// TestFixtureSignedByPHP checks the paid fixture against the sign PHP wrote
// into it, and that the test helper's independent encoding agrees.
func TestFixtureSignedByPHP(t *testing.T) {
	body := readFixture(t, "webhook_paid.json")
	const phpSign = "c0488f75654e54b1f610ef7c3e7b916c"
	require.Contains(t, string(body), `"sign":"`+phpSign+`"`)
	content := strings.TrimSuffix(string(body), `,"sign":"`+phpSign+`"}`) + "}"
	assert.Equal(t, phpSign, md5Sign(content, paymentKey))
	assert.Equal(t, phpSign, cryptomus.Sign([]byte(content), paymentKey))
	_, err := newGateway(t).ParseWebhook(t.Context(), webhookRequest(body))
	require.NoError(t, err)
}

func TestParseWebhookFixtures(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	charge := func(amount payments.Money, kind payments.EntryKind) []payments.Entry {
		e := payments.Entry{
			Gateway: "cryptomus", Kind: kind, GatewayRef: paidUUID, GatewayPaymentID: paidUUID,
			PaymentID: "pay_4f1c2a9b8e7d6c5b4a392817", Account: "user-42", Reference: "order:1001:k3j2h1",
			Amount: amount, OccurredAt: received,
		}
		if kind == payments.KindCharge {
			// payment_amount_usd is the charge itself: Cryptomus's USD worth.
			e.Settlement = &payments.Conversion{Money: amount, Rate: "1", Source: cryptomus.SettlementSource, At: received}
		}
		return []payments.Entry{e}
	}
	update := func(status payments.Status) []payments.PaymentUpdate {
		return []payments.PaymentUpdate{{
			GatewayID: paidUUID, PaymentID: "pay_4f1c2a9b8e7d6c5b4a392817", Status: status,
			Account: "user-42", Reference: "order:1001:k3j2h1", Amount: usd(t, "15.00"),
		}}
	}
	for _, tc := range []struct {
		fixture  string
		payments []payments.PaymentUpdate
		entries  []payments.Entry
	}{
		{"webhook_paid.json", update(payments.StatusSucceeded), charge(usd(t, "15.00"), payments.KindCharge)},
		{"webhook_paid_pretty.json", update(payments.StatusSucceeded), charge(usd(t, "15.00"), payments.KindCharge)},
		{"webhook_refund_paid.json", update(payments.StatusRefunded), charge(usd(t, "-15.00"), payments.KindRefund)},
		{"webhook_check.json", update(payments.StatusPending), nil},
		{"webhook_cancel_foreign.json", []payments.PaymentUpdate{{
			GatewayID: "0d7f9b2e-5c41-4e8a-9a63-2b1f0e4c7d55", Status: payments.StatusFailed, Amount: usd(t, "15.00"),
		}}, nil},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			req := webhookRequest(readFixture(t, tc.fixture))
			req.ReceivedAt = received
			c, err := newGateway(t).ParseWebhook(t.Context(), req)
			require.NoError(t, err)
			assert.Equal(t, tc.payments, c.Payments)
			assert.Equal(t, tc.entries, c.Entries)
			assert.NotEmpty(t, c.EventID)
		})
	}
}

// TestOverpaymentPolicy: what a charge records under each policy, and that
// only paid_over, Cryptomus's own report of an overpayment, flags it as one
// for the ledger to book.
func TestOverpaymentPolicy(t *testing.T) {
	trx := func(amount string) payments.Money {
		m, err := payments.ParseMoney(amount, "TRX")
		require.NoError(t, err)
		return m
	}
	invoiceAmount := newGateway(t)
	paidAmount := newGateway(t, func(c *cryptomus.Config) { c.Overpayment = cryptomus.ChargePaidAmount })
	trxInvoice := func(status, paid string) []byte {
		return webhookBody(t, paymentFields(field{"amount", "3.00000000"}, field{"currency", "TRX"},
			field{"payer_currency", "TRX"}, field{"payment_amount", paid}, field{"status", status}), paymentKey)
	}
	for _, tc := range []struct {
		name     string
		g        *cryptomus.Gateway
		body     []byte
		want     payments.Money
		overpaid bool
		note     string
	}{
		{"paid_over, invoice amount by default", invoiceAmount, readFixture(t, "webhook_paid_over.json"),
			trx("3"), false, "customer paid 3.50000000 TRX"},
		{"paid_over, paid amount", paidAmount, readFixture(t, "webhook_paid_over.json"),
			trx("3.5"), true, "overpayment recorded"},
		{"paid_over in another currency than the invoice's", paidAmount,
			webhookBody(t, paymentFields(field{"status", "paid_over"}), paymentKey), usd(t, "15.00"), false, "customer paid 196.07843137 TRX"},
		{"paid with more: no overpayment reported", paidAmount, trxInvoice("paid", "3.50000000"),
			trx("3.5"), false, "although the status is paid"},
		{"paid with more, invoice amount by default", invoiceAmount, trxInvoice("paid", "3.50000000"),
			trx("3"), false, "customer paid 3.50000000 TRX"},
		{"paid with less, within Cryptomus's accuracy", paidAmount, trxInvoice("paid", "2.99000000"),
			trx("3"), false, "customer paid 2.99000000 TRX"},
		{"paid_over, payment_amount too precise for the currency", paidAmount, trxInvoice("paid_over", "3.500000001"),
			trx("3"), false, "the invoice amount is recorded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.g.ParseWebhook(t.Context(), webhookRequest(tc.body))
			require.NoError(t, err)
			require.Len(t, c.Entries, 1)
			assert.Equal(t, tc.want, c.Entries[0].Amount)
			assert.Equal(t, tc.overpaid, c.Entries[0].Overpayment)
			assert.Equal(t, payments.StatusSucceeded, c.Payments[0].Status)
			assert.Contains(t, c.Note, tc.note)
		})
	}
}

func TestPayoutWebhook(t *testing.T) {
	body := readFixture(t, "webhook_payout.json")
	_, err := newGateway(t).ParseWebhook(t.Context(), webhookRequest(body))
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "signed with the payout key, which is not configured")

	g := newGateway(t, func(c *cryptomus.Config) { c.PayoutKey = payoutKey })
	c, err := g.ParseWebhook(t.Context(), webhookRequest(body))
	require.NoError(t, err)
	assert.True(t, c.Empty())
	assert.Contains(t, c.Note, "payout")
}

func TestStatusMapping(t *testing.T) {
	g := newGateway(t)
	for _, tc := range []struct {
		status string
		want   payments.Status
		entry  payments.EntryKind
	}{
		{"paid", payments.StatusSucceeded, payments.KindCharge},
		{"paid_over", payments.StatusSucceeded, payments.KindCharge},
		{"refund_paid", payments.StatusRefunded, payments.KindRefund},
		{"wrong_amount", payments.StatusFailed, ""},
		{"cancel", payments.StatusFailed, ""},
		{"fail", payments.StatusFailed, ""},
		{"system_fail", payments.StatusFailed, ""},
		{"check", payments.StatusPending, ""},
		{"process", payments.StatusPending, ""},
		{"confirm_check", payments.StatusPending, ""},
		{"wrong_amount_waiting", payments.StatusPending, ""},
		{"refund_process", "", ""},
		{"refund_fail", "", ""},
		{"locked", "", ""},
		{"something_new", "", ""},
	} {
		t.Run(tc.status, func(t *testing.T) {
			body := webhookBody(t, paymentFields(field{"status", tc.status}), paymentKey)
			c, err := g.ParseWebhook(t.Context(), webhookRequest(body))
			require.NoError(t, err)
			assert.Equal(t, tc.status, c.EventType)
			if tc.want == "" {
				assert.True(t, c.Empty())
				assert.NotEmpty(t, c.Note)
				return
			}
			require.Len(t, c.Payments, 1)
			assert.Equal(t, tc.want, c.Payments[0].Status)
			if tc.entry == "" {
				assert.Empty(t, c.Entries)
				return
			}
			require.Len(t, c.Entries, 1)
			assert.Equal(t, tc.entry, c.Entries[0].Kind)
			assert.NoError(t, c.Validate("cryptomus"))
		})
	}
}

// TestWebhookAuthentication changes signed bodies in ways a Go map or a
// naive re-marshal would not notice, or would wrongly reject.
func TestWebhookAuthentication(t *testing.T) {
	g := newGateway(t)
	paid := readFixture(t, "webhook_paid.json")
	content := phpJSON(t, paymentFields())
	sign := md5Sign(content, paymentKey)
	withSign := func(content string) []byte {
		return []byte(strings.TrimSuffix(content, "}") + `,"sign":"` + sign + `"}`)
	}
	accepted := map[string][]byte{
		"as sent":             withSign(content),
		"whitespace":          bytes.ReplaceAll(withSign(content), []byte(`,"`), []byte(",\n  \"")),
		"unescaped slashes":   bytes.ReplaceAll(paid, []byte(`\\\/`), []byte(`\\/`)),
		"sign first":          []byte(`{"sign":"` + sign + `",` + strings.TrimPrefix(content, "{")),
		"escaped non-ASCII":   bytes.ReplaceAll(paid, []byte("Оплата"), []byte(`\u041e\u043f\u043b\u0430\u0442\u0430`)),
		"escaped plain chars": bytes.Replace(withSign(content), []byte(`"payment"`), []byte(`"pay\u006dent"`), 1),
	}
	for name, body := range accepted {
		t.Run("accepts "+name, func(t *testing.T) {
			_, err := g.ParseWebhook(t.Context(), webhookRequest(body))
			assert.NoError(t, err)
		})
	}
	swapped := paymentFields()
	swapped[3], swapped[4] = swapped[4], swapped[3]
	rejected := map[string][]byte{
		"amount changed":      withSign(strings.Replace(content, `"amount":"15.00"`, `"amount":"16.00"`, 1)),
		"account changed":     withSign(strings.Replace(content, `user-42`, `user-43`, 1)),
		"keys reordered":      withSign(phpJSON(t, swapped)),
		"field added":         withSign(strings.TrimSuffix(content, "}") + `,"extra":null}`),
		"field removed":       withSign(phpJSON(t, paymentFields(remove("commission")))),
		"null made empty":     withSign(strings.Replace(content, `"wallet_address_uuid":null`, `"wallet_address_uuid":""`, 1)),
		"bool made string":    withSign(strings.Replace(content, `"is_final":true`, `"is_final":"true"`, 1)),
		"nested null removed": withSign(strings.Replace(content, `"commission":null,`, ``, 1)),
		"inner text changed":  bytes.ReplaceAll(paid, []byte(`\\\/`), []byte(`/`)),
		"wrong key":           webhookBody(t, paymentFields(), "another-key"),
		"payout key":          webhookBody(t, paymentFields(), payoutKey),
		"upper-case sign":     []byte(strings.TrimSuffix(content, "}") + `,"sign":"` + strings.ToUpper(sign) + `"}`),
		"no sign":             []byte(content),
		"empty sign":          []byte(strings.TrimSuffix(content, "}") + `,"sign":""}`),
		"sign not a string":   []byte(strings.TrimSuffix(content, "}") + `,"sign":123}`),
		"sign twice":          []byte(strings.TrimSuffix(string(withSign(content)), "}") + `,"sign":"` + sign + `"}`),
		"duplicate key":       withSign(strings.Replace(content, `"status":"paid"`, `"status":"paid","status":"cancel"`, 1)),
		"array body":          []byte(`["` + sign + `"]`),
		"trailing data":       append(withSign(content), []byte(` {}`)...),
		"invalid UTF-8":       bytes.Replace(paid, []byte("Оплата"), []byte{0xff, 0xfe}, 1),
		"not JSON":            []byte("type=payment&sign=" + sign),
	}
	for name, body := range rejected {
		t.Run("rejects "+name, func(t *testing.T) {
			_, err := g.ParseWebhook(t.Context(), webhookRequest(body))
			require.ErrorIs(t, err, payments.ErrUnauthenticated)
			assert.True(t, strings.HasPrefix(err.Error(), "cryptomus: "), err.Error())
			assert.NotContains(t, err.Error(), sign, "the expected sign is never echoed")
		})
	}
	_, err := g.ParseWebhook(t.Context(), nil)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
}

func TestWebhookInvalidContent(t *testing.T) {
	g := newGateway(t)
	for name, fields := range map[string][]field{
		"no uuid":               paymentFields(remove("uuid")),
		"amount too precise":    paymentFields(field{"amount", "15.001"}),
		"unknown currency":      paymentFields(field{"currency", "XYZ"}),
		"zero amount":           paymentFields(field{"amount", "0.00"}),
		"negative amount":       paymentFields(field{"amount", "-15.00"}),
		"refund without amount": paymentFields(field{"status", "refund_paid"}, remove("amount")),
		"status not a string":   paymentFields(field{"status", []field{{"v", "paid"}}}),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := g.ParseWebhook(t.Context(), webhookRequest(webhookBody(t, fields, paymentKey)))
			require.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.NotErrorIs(t, err, payments.ErrUnauthenticated)
		})
	}
	// A status change needs no amount.
	c, err := g.ParseWebhook(t.Context(), webhookRequest(webhookBody(t,
		paymentFields(field{"status", "cancel"}, field{"amount", "15.001"}), paymentKey)))
	require.NoError(t, err)
	assert.Equal(t, payments.StatusFailed, c.Payments[0].Status)
	assert.Empty(t, c.Payments[0].Amount.Currency)
}

func TestAdditionalData(t *testing.T) {
	g := newGateway(t)
	for data, want := range map[any][2]string{
		`{"account":"u-1","reference":"topup:9:abc123","other":"x"}`: {"u-1", "topup:9:abc123"},
		`not json / Заказ`:  {"", ""},
		`{"account":5}`:     {"", ""},
		nil:                 {"", ""},
		`["account","u-1"]`: {"", ""},
	} {
		body := webhookBody(t, paymentFields(field{"additional_data", data}, field{"order_id", "shop-1"}), paymentKey)
		c, err := g.ParseWebhook(t.Context(), webhookRequest(body))
		require.NoError(t, err, "%v", data)
		assert.Equal(t, want[0], c.Entries[0].Account, "%v", data)
		assert.Equal(t, want[1], c.Payments[0].Reference, "%v", data)
		assert.Empty(t, c.Payments[0].PaymentID, "shop-1 is not a library payment id")
	}
}

func TestWebhookSenderIP(t *testing.T) {
	body := readFixture(t, "webhook_paid.json")
	proxy := netipPrefix(t, "10.0.0.0/8")
	g := newGateway(t, func(c *cryptomus.Config) {
		c.CheckWebhookIP = true
		c.TrustedProxies = proxy
	})
	assert.Equal(t, []string{"X-Forwarded-For"}, g.WebhookHeaders())
	assert.Empty(t, newGateway(t).WebhookHeaders())
	for _, tc := range []struct {
		name, remote, xff string
		ok                bool
	}{
		{"direct from Cryptomus", "91.227.144.54:443", "", true},
		{"IPv4-mapped", "[::ffff:91.227.144.54]:443", "", true},
		{"bare address", "91.227.144.54", "", true},
		{"direct from elsewhere", "203.0.113.9:443", "", false},
		{"forwarded header from an untrusted peer", "203.0.113.9:443", "91.227.144.54", false},
		{"through the proxy", "10.1.2.3:80", "91.227.144.54", true},
		{"through two proxies", "10.1.2.3:80", "91.227.144.54, 10.9.9.9", true},
		{"spoofed left of the real sender", "10.1.2.3:80", "91.227.144.54, 203.0.113.9", false},
		{"client-supplied hop ignored", "10.1.2.3:80", "203.0.113.9, 91.227.144.54", true},
		{"proxy without header", "10.1.2.3:80", "", false},
		{"malformed hop", "10.1.2.3:80", "not-an-ip", false},
		{"no remote address", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := webhookRequest(body)
			req.RemoteAddr = tc.remote
			req.Header = map[string][]string{}
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			_, err := g.ParseWebhook(context.Background(), req)
			if tc.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, payments.ErrUnauthenticated)
			}
		})
	}
	custom := newGateway(t, func(c *cryptomus.Config) {
		c.CheckWebhookIP = true
		c.WebhookIPs = netipPrefix(t, "198.51.100.0/24")
	})
	req := webhookRequest(body)
	_, err := custom.ParseWebhook(t.Context(), req)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "WebhookIPs replaces the default")
	req.RemoteAddr = "198.51.100.7:1"
	_, err = custom.ParseWebhook(t.Context(), req)
	assert.NoError(t, err)
}

func netipPrefix(t *testing.T, prefixes ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range prefixes {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

// TestOrderIDAsPaymentID: an order_id shaped like a library payment id, as
// the Service issues them now (32 hex digits) or did before (24), links the
// webhook to the payment; anything else is the shop's own order id.
func TestOrderIDAsPaymentID(t *testing.T) {
	g := newGateway(t)
	for orderID, isPayment := range map[string]bool{
		"pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4": true,
		"pay_4f1c2a9b8e7d6c5b4a392817":         true,
		"pay_0195F3C2A1B4D5E6F7A8B9C0D1E2F3A4": false,
		"pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3":   false,
		"pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3ag": false,
		"order-1001":                           false,
	} {
		body := webhookBody(t, paymentFields(field{"order_id", orderID}), paymentKey)
		c, err := g.ParseWebhook(t.Context(), webhookRequest(body))
		require.NoError(t, err, orderID)
		want := ""
		if isPayment {
			want = orderID
		}
		assert.Equal(t, want, c.Payments[0].PaymentID, orderID)
		assert.Equal(t, want, c.Entries[0].PaymentID, orderID)
	}
}

// TestUSDSettlement: Cryptomus's payment_amount_usd becomes the charge's
// settlement in USD only when it prices the charge itself, and converting
// the charge at the recorded rate gives the figure back to the cent.
func TestUSDSettlement(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		overrides []field
		want      string // USD settled, "" for none
	}{
		{"usd invoice paid in TRX", nil, "15.00"},
		{"eur invoice paid in TRX", []field{{"currency", "EUR"}, {"payment_amount_usd", "16.26"}}, "16.26"},
		{"eur invoice paid in EUR", []field{{"currency", "EUR"}, {"payer_currency", "EUR"}, {"payment_amount", "15.00"}, {"payment_amount_usd", "16.26"}}, "16.26"},
		{"eur invoice, EUR payment short of it", []field{{"currency", "EUR"}, {"payer_currency", "EUR"}, {"payment_amount", "14.99"}, {"payment_amount_usd", "16.25"}}, ""},
		{"usd figure not the usd charge", []field{{"payment_amount_usd", "14.98"}}, ""},
		{"no figure", []field{remove("payment_amount_usd")}, ""},
		{"zero figure", []field{{"currency", "EUR"}, {"payment_amount_usd", "0.00"}}, ""},
		{"figure not in cents", []field{{"currency", "EUR"}, {"payment_amount_usd", "16.261"}}, ""},
		{"garbage figure", []field{{"currency", "EUR"}, {"payment_amount_usd", "1e3"}}, ""},
		{"paid_over of a foreign invoice", []field{{"currency", "EUR"}, {"status", "paid_over"}, {"payment_amount_usd", "20.00"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := webhookRequest(webhookBody(t, paymentFields(tc.overrides...), paymentKey))
			req.ReceivedAt = received
			c, err := newGateway(t).ParseWebhook(t.Context(), req)
			require.NoError(t, err)
			require.Len(t, c.Entries, 1)
			e := c.Entries[0]
			if tc.want == "" {
				assert.Nil(t, e.Settlement)
				return
			}
			require.NotNil(t, e.Settlement)
			assert.Equal(t, usd(t, tc.want), e.Settlement.Money)
			assert.Equal(t, cryptomus.SettlementSource, e.Settlement.Source)
			assert.Equal(t, received, e.Settlement.At)
			back, err := payments.Convert(e.Amount, e.Settlement.Rate, "USD")
			require.NoError(t, err)
			assert.Equal(t, e.Settlement.Money, back, "rate %s", e.Settlement.Rate)
		})
	}
}
