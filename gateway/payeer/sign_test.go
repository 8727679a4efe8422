package payeer_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
	"github.com/payrail/payments/internal/testvectors"
)

// TestSignPublishedVectors reproduces the m_sign values that client
// libraries publish in their tests, each computed there by PHP or Node;
// the digests and the fields they sign are quoted from:
//
//   - aleksandrzhiliaev/omnipay-payeer@6a5d50c1f48c27c31e8cbd27055e22ffd60534c0
//     tests/Message/PurchaseRequestTest.php (the payment form) and
//     CompletePurchaseRequestTest.php (a callback with the fields Payeer
//     adds, summa_out, transfer_id, …);
//   - Purt09/payeer-php-sdk@166ee5e1340ce09ac4f5f779761a1f3ff541a95c
//     tests/unit/PayeerTest.php, testGetSign and testGenerateLink (the form)
//     and testCheckSign (a callback from a live shop, with a Cyrillic
//     m_desc);
//   - kubk/payeer-node@5a59c9b029ac2815197980cbf4013d4e22fff5c2
//     src/payeer.test.ts, "should parse success payment callback" (m_desc
//     not in base64, with ':' in it).
func TestSignPublishedVectors(t *testing.T) {
	for _, v := range []struct {
		source, key string
		fields      []string
		want        string
	}{
		{"omnipay-payeer PurchaseRequestTest", "ShopSecret",
			[]string{"ShopId", "1", "10.00", "CURRENCY", base64.StdEncoding.EncodeToString([]byte("Description"))},
			"E0251D783F054E565F542CDA0E2A785FF2C2817660F8FEFC291552E9CCCDD526"},
		{"payeer-php-sdk testGetSign", "EC23E85416F4AB3045A88D45EC071683",
			[]string{"1147929546", "12345", "150.00", "RUB", "MTIz"},
			"F58357124F326853A91EE698EB13CE81B2245BB516CFC9F673AC7EF67ACDD182"},
		{"omnipay-payeer CompletePurchaseRequestTest", "secret",
			[]string{"292915150", "2609", "22.01.2017 18:31:07", "22.01.2017 18:31:19", "125875499", "16088", "19.85", "USD", "T3JkZXI6IDE2MDg4", "success"},
			"735FD542C4942F10146C90CA9C681CE0F1D24EED94D365A1AEC47C46FC9EEEB9"},
		{"payeer-php-sdk testCheckSign", "EC23E85416F4AB3045A88D45EC071683",
			[]string{"1293284312", "2609", "01.02.2021 05:13:13", "01.02.2021 05:13:19", "1147929546", "shopdigital-367815", "1.00", "RUB",
				"0J/QvtC60YPQv9C60LAg0LIg0LHQvtGC0LUg0J/RgNC40LzQtdGAINC80LDQs9Cw0LfQuNC90LAg4oSWMSBCb1QtVC5ydQ==", "success"},
			"C867B2E2D267E9C46CF0A1D2A07B1658D0C1317CB2911BEFA4F6E43BFBDA6D51"},
		{"payeer-node success callback", "222",
			[]string{"12435", "12345", "2019-04-18", "2019-04-18", "12345", "50", "5", "USD", "Order ID: 5", "success"},
			"F5DCB3F86DAA2A0C8A660C9070197CC80F4AAD80ECC3C5DB59EB369A180356AC"},
	} {
		assert.Equal(t, v.want, payeer.Sign(v.key, v.fields...), v.source)
		assert.Equal(t, v.want, sha256Upper(v.key, v.fields...), "%s: the tests' own formula", v.source)
	}
}

// publishedCallbacks are the callbacks client libraries publish in their
// tests, as forms. They are copied, so they are not committed: the opt-in
// TestPublishedCallbacks reads them from $PAYMENTS_VECTORS/payeer
// (testdata/README.md). TestSignPublishedVectors checks their digests in
// CI, from the fields quoted there.
var publishedCallbacks = []testvectors.File{
	{Name: "callback_purt09.form", Source: "Purt09/payeer-php-sdk@166ee5e1340ce09ac4f5f779761a1f3ff541a95c tests/unit/PayeerTest.php, $str of testCheckSign, byte for byte"},
	{Name: "callback_omnipay.form", Source: "aleksandrzhiliaev/omnipay-payeer@6a5d50c1f48c27c31e8cbd27055e22ffd60534c0 tests/Message/CompletePurchaseRequestTest.php, the POST fields of testSendSuccess, form-encoded in their order"},
	{Name: "callback_kubk.form", Source: "kubk/payeer-node@5a59c9b029ac2815197980cbf4013d4e22fff5c2 src/payeer.test.ts, the callback of \"should parse success payment callback\", form-encoded in its order"},
}

// TestPublishedCallbacks verifies the callbacks the same libraries publish,
// byte for byte as they are in $PAYMENTS_VECTORS/payeer, with their
// merchants' keys, and reads what a charge needs from each.
func TestPublishedCallbacks(t *testing.T) {
	dir := testvectors.Dir(t, "payeer", "the callbacks Payeer client libraries publish, verified with their merchants' keys", publishedCallbacks)
	for _, tc := range []struct {
		fixture, shop, key string
		op, order          string
		amount             payments.Money
	}{
		{"callback_purt09.form", "1147929546", "EC23E85416F4AB3045A88D45EC071683", "1293284312", "shopdigital-367815",
			payments.Money{Amount: 100, Currency: "RUB"}},
		{"callback_omnipay.form", "125875499", "secret", "292915150", "16088", payments.Money{Amount: 1985, Currency: "USD"}},
		{"callback_kubk.form", "12345", "222", "12435", "50", payments.Money{Amount: 500, Currency: "USD"}},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join(dir, tc.fixture))
			require.NoError(t, err)
			body = bytes.TrimSpace(body)
			g := newGateway(t, func(c *payeer.Config) { c.ShopID, c.SecretKey = tc.shop, tc.key })
			c, err := g.ParseWebhook(t.Context(), callbackRequest(body))
			require.NoError(t, err)
			require.Len(t, c.Entries, 1)
			e := c.Entries[0]
			assert.Equal(t, tc.op, e.GatewayRef)
			assert.Equal(t, tc.order, e.GatewayPaymentID)
			assert.Equal(t, tc.amount, e.Amount)
			assert.Empty(t, e.PaymentID, "not a library payment id")
			require.NoError(t, c.Validate("payeer"))

			_, err = newGateway(t, func(c *payeer.Config) { c.ShopID = tc.shop }).ParseWebhook(t.Context(), callbackRequest(body))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, "another merchant's key")
		})
	}
}

// TestCheckoutReproducesPublishedLink builds the payment link of
// Purt09/payeer-php-sdk testGenerateLink with the driver and compares its
// parameters with the published link's.
func TestCheckoutReproducesPublishedLink(t *testing.T) {
	const published = "https://payeer.com/merchant/?m_shop=1147929546&m_orderid=12345&m_amount=150.00&m_curr=RUB&m_desc=MTIz&m_sign=F58357124F326853A91EE698EB13CE81B2245BB516CFC9F673AC7EF67ACDD182&lang=ru"
	g := newGateway(t, func(c *payeer.Config) {
		c.ShopID, c.SecretKey, c.Language = "1147929546", "EC23E85416F4AB3045A88D45EC071683", "ru"
	})
	co, err := g.CreateCheckout(t.Context(), payments.CheckoutRequest{
		PaymentID: "12345", Account: "user-42", Amount: payments.Money{Amount: 15000, Currency: "RUB"}, Description: "123",
	})
	require.NoError(t, err)
	got, err := url.Parse(co.RedirectURL)
	require.NoError(t, err)
	want, err := url.Parse(published)
	require.NoError(t, err)
	assert.Equal(t, want.Query(), got.Query())
	got.RawQuery, want.RawQuery = "", ""
	assert.Equal(t, want, got)
}

// TestEncryptParamsVectors reproduces m_params computed by the OpenSSL
// command line (testdata/generate.sh), which is what PHP's openssl_encrypt
// calls: AES-256-CBC under the 32 hex digits of md5(params key .
// m_orderid), a zero IV, base64, then PHP's urlencode. No library publishes
// a vector of the AES form that could be reproduced instead.
func TestEncryptParamsVectors(t *testing.T) {
	f, err := os.Open("testdata/mparams_vectors.tsv")
	require.NoError(t, err)
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		require.Len(t, cols, 4, line)
		key, order, plain, want := cols[0], cols[1], cols[2], cols[3]
		assert.Equal(t, want, payeer.EncryptParams(key, order, []byte(plain)), "order %s", order)
		back, err := payeer.DecryptParams(key, order, want)
		require.NoError(t, err)
		assert.Equal(t, plain, string(back))
		_, err = payeer.DecryptParams(key, order+"x", want)
		assert.Error(t, err, "another order's key does not decrypt (bad padding, most likely)")
		n++
	}
	require.Equal(t, 4, n)
}

func TestDecryptParamsRefusesGarbage(t *testing.T) {
	for _, v := range []string{"%zz", "!!!", "", base64.StdEncoding.EncodeToString([]byte("short"))} {
		_, err := payeer.DecryptParams(testParamsKey, "1", v)
		assert.Error(t, err, "%q", v)
	}
}
