package gate_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

// Every refused request answers 4xx JSON with a code, and records nothing:
// no record under its id, no payment in the Service, no gateway call.
func TestInitPaymentRefusesBadInput(t *testing.T) {
	set := func(k string, v any) func(map[string]any) { return func(b map[string]any) { b[k] = v } }
	drop := func(k string) func(map[string]any) { return func(b map[string]any) { delete(b, k) } }
	cases := []struct {
		name  string
		token string // "" uses the merchant's; "-" sends none
		body  any    // a map edit, or a raw string
		code  int
		err   gate.ErrorCode
		field string
	}{
		{"no token", "-", body(nil), 401, gate.CodeUnauthorized, ""},
		{"wrong token", "gtk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", body(nil), 401, gate.CodeUnauthorized, ""},
		{"not a token", "hunter2", body(nil), 401, gate.CodeUnauthorized, ""},
		{"missing id", "", body(drop("id")), 422, gate.CodeInvalidField, "id"},
		{"id with spaces", "", body(set("id", "a b")), 422, gate.CodeInvalidField, "id"},
		{"missing email", "", body(drop("customerEmail")), 422, gate.CodeInvalidField, "customerEmail"},
		{"bad email", "", body(set("customerEmail", "not-an-email")), 422, gate.CodeInvalidField, "customerEmail"},
		{"email with a name", "", body(set("customerEmail", "Ann <ann@example.com>")), 422, gate.CodeInvalidField, "customerEmail"},
		{"missing amount", "", body(drop("amount")), 422, gate.CodeInvalidField, "amount"},
		{"negative amount", "", body(set("amount", "-10.50")), 422, gate.CodeInvalidField, "amount"},
		{"zero amount", "", body(set("amount", "0.00")), 422, gate.CodeInvalidField, "amount"},
		{"over-precise amount", "", body(set("amount", "10.505")), 422, gate.CodeInvalidField, "amount"},
		{"over-precise yen", "", body(func(b map[string]any) { b["amount"], b["currency"] = "100.5", "JPY" }), 422, gate.CodeInvalidField, "amount"},
		{"exponent amount", "", body(set("amount", "1e3")), 422, gate.CodeInvalidField, "amount"},
		{"amount as a number", "", body(set("amount", 10.5)), 400, gate.CodeInvalidJSON, "amount"},
		{"unknown currency", "", body(set("currency", "ZZZ")), 422, gate.CodeInvalidField, "currency"},
		{"javascript successUrl", "", body(set("successUrl", "javascript:alert(document.cookie)")), 422, gate.CodeInvalidField, "successUrl"},
		{"data errorUrl", "", body(set("errorUrl", "data:text/html,<script>alert(1)</script>")), 422, gate.CodeInvalidField, "errorUrl"},
		{"http successUrl", "", body(set("successUrl", "http://shop.example/ok")), 422, gate.CodeInvalidField, "successUrl"},
		{"credentials in successUrl", "", body(set("successUrl", "https://bank.example@evil.example/")), 422, gate.CodeInvalidField, "successUrl"},
		{"relative errorUrl", "", body(set("errorUrl", "/fail")), 422, gate.CodeInvalidField, "errorUrl"},
		{"private postbackUrl", "", body(set("postbackUrl", "https://10.0.0.7/pb")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"loopback postbackUrl", "", body(set("postbackUrl", "https://127.0.0.1:8080/pb")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"IPv6 loopback postbackUrl", "", body(set("postbackUrl", "https://[::1]/pb")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"mapped loopback postbackUrl", "", body(set("postbackUrl", "https://[::ffff:127.0.0.1]/pb")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"metadata postbackUrl", "", body(set("postbackUrl", "https://169.254.169.254/latest/meta-data")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"localhost postbackUrl", "", body(set("postbackUrl", "https://localhost/pb")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"http postbackUrl", "", body(set("postbackUrl", "http://shop.example/pb")), 422, gate.CodeInvalidField, "postbackUrl"},
		{"gateway not enabled", "", body(set("gateway", "fake2")), 422, gate.CodeGatewayNotAllowed, "gateway"},
		{"unknown field", "", body(set("amountMinor", 1050)), 400, gate.CodeInvalidJSON, ""},
		{"not JSON", "", "amount=10.50", 400, gate.CodeInvalidJSON, ""},
		{"two JSON values", "", `{"id":"x"} {}`, 400, gate.CodeInvalidJSON, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			token := e.token
			switch tc.token {
			case "-":
				token = ""
			case "":
			default:
				token = tc.token
			}
			a := e.init(token, tc.body)
			assert.Equal(t, tc.code, a.code, a.body)
			require.NotNil(t, a.json, "a JSON answer: %s", a.body)
			assert.Equal(t, "error", a.json["status"])
			errObj, _ := a.json["error"].(map[string]any)
			require.NotNil(t, errObj, a.body)
			assert.Equal(t, string(tc.err), errObj["code"])
			assert.NotEmpty(t, errObj["message"])
			if tc.field != "" {
				assert.Equal(t, tc.field, errObj["field"])
			}
			assertNothingRecorded(t, e, "order-1001")
		})
	}
}

func assertNothingRecorded(t *testing.T, e *env, id string) {
	t.Helper()
	assert.Zero(t, e.store.created.Load(), "the Service has no payment")
	assert.Empty(t, e.fake.Calls(), "the gateway was not called")
	_, err := e.records.RecordByMerchant(t.Context(), "m1", id)
	assert.ErrorIs(t, err, payments.ErrNotFound, "the gate has no record")
}

// The same id with another body is a conflict, and changes nothing.
func TestInitPaymentSameIDOtherBody(t *testing.T) {
	e := newEnv(t, nil)
	first := e.init(e.token, body(nil))
	require.Equal(t, http.StatusOK, first.code, first.body)
	for name, edit := range map[string]func(map[string]any){
		"amount":   func(b map[string]any) { b["amount"] = "10.51" },
		"currency": func(b map[string]any) { b["currency"] = "EUR" },
		"email":    func(b map[string]any) { b["customerEmail"] = "bob@example.com" },
		"success":  func(b map[string]any) { b["successUrl"] = "https://shop.example/other" },
	} {
		a := e.init(e.token, body(edit))
		assert.Equal(t, http.StatusConflict, a.code, name)
		assert.Equal(t, string(gate.CodeIdempotencyConflict), a.json["error"].(map[string]any)["code"], name)
	}
	assert.Equal(t, int32(1), e.store.created.Load(), "no second payment")

	// Another merchant may use the same id for its own payment.
	token, _ := e.addMerchant("m3", "fake")
	other := e.init(token, body(nil))
	require.Equal(t, http.StatusOK, other.code, other.body)
	assert.NotEqual(t, first.json["id"], other.json["id"])
}

func TestAcceptsExactAmounts(t *testing.T) {
	e := newEnv(t, nil)
	for i, tc := range []struct{ amount, currency, want string }{
		{"10.5", "USD", "10.50"}, {"10.500", "USD", "10.50"}, {"1000", "JPY", "1000"}, {"0.001", "KWD", "0.001"},
	} {
		a := e.init(e.token, body(func(b map[string]any) {
			b["id"], b["amount"], b["currency"] = "order-"+tc.amount+tc.currency, tc.amount, tc.currency
		}))
		require.Equal(t, http.StatusOK, a.code, a.body)
		rec, err := e.records.Record(t.Context(), a.json["id"].(string))
		require.NoError(t, err)
		assert.Equal(t, tc.want, rec.Request.Amount, "case %d", i)
	}
}

// Concurrent retries of one request make one payment and one answer.
func TestInitPaymentConcurrentRetries(t *testing.T) {
	e := newEnv(t, nil)
	answers := make(chan answer, 8)
	for range 8 {
		go func() { answers <- e.init(e.token, body(nil)) }()
	}
	var first answer
	for i := range 8 {
		a := <-answers
		require.Equal(t, http.StatusOK, a.code, a.body)
		if i == 0 {
			first = a
		}
		assert.Equal(t, first.json, a.json)
	}
	assert.Equal(t, int32(1), e.store.created.Load())
}
