package paypal

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func TestParseCustomID(t *testing.T) {
	for in, want := range map[string][2]string{
		"pay_019ad3e1c2f07a6b9e8d7c6b5a493827": {"pay_019ad3e1c2f07a6b9e8d7c6b5a493827", ""},
		"payments_account:user-42":             {"", "user-42"},
		"pay_019AD3E1C2F07A6B9E8D7C6B5A493827": {"", ""}, // the library writes lower case
		"pay_019ad3e1c2f07a6b9e8d7c6b5a49382":  {"", ""},
		`{"orderTransactionId":"0198"}`:        {"", ""},
		"29b0b044-fbfe-4325-952e-20000d4a6caf": {"", ""},
		"":                                     {"", ""},
	} {
		id, account := parseCustomID(in)
		assert.Equal(t, want, [2]string{id, account}, in)
	}
}

func TestToPayPal(t *testing.T) {
	for _, tc := range []struct {
		in   payments.Money
		want string
	}{
		{payments.Money{Amount: 1050, Currency: "USD"}, "10.50"},
		{payments.Money{Amount: 1000, Currency: "JPY"}, "1000"},
		{payments.Money{Amount: 150000, Currency: "HUF"}, "1500"},
		{payments.Money{Amount: 9900, Currency: "TWD"}, "99"},
		{payments.Money{Amount: 3125, Currency: "KWD"}, "3.125"},
	} {
		m, err := toPayPal(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, wireMoney{CurrencyCode: string(tc.in.Currency), Value: tc.want}, *m)
	}
	for _, bad := range []payments.Money{{Amount: 0, Currency: "USD"}, {Amount: -5, Currency: "USD"},
		{Amount: 150, Currency: "HUF"}, {Amount: 5, Currency: "XXX"}} {
		_, err := toPayPal(bad)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, bad)
	}
}

func TestRequestID(t *testing.T) {
	short := "pay_019ad3e1c2f07a6b9e8d7c6b5a493827:capture:10.00USD"
	assert.Equal(t, short, requestID(short))
	long := strings.Repeat("k", 109)
	assert.Len(t, requestID(long), len("sha256:")+64)
	assert.Equal(t, requestID(long), requestID(long))
	assert.NotEqual(t, requestID(long), requestID(long+"x"))
}

func TestCheckCertURL(t *testing.T) {
	for _, ok := range []string{
		"https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
		"https://api-m.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
		"https://API.SANDBOX.PAYPAL.COM/v1/notifications/certs/CERT-1",
		"https://api-m.sandbox.paypal.com/v1/notifications/certs/CERT-1",
	} {
		_, err := checkCertURL(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{
		"https://paypal.com/v1/notifications/certs/CERT-1",
		"https://www.paypal.com/v1/notifications/certs/CERT-1",
		"https://api.paypal.com.evil.test/v1/notifications/certs/CERT-1",
		"https://api.paypal.com:443/v1/notifications/certs/CERT-1",
		"https://api.paypal.com/v1/notifications/certs/CERT-1#x",
		"https://api.paypal.com/v1/notifications%2F..%2F..%2Fv2",
		"//api.paypal.com/v1/notifications/certs/CERT-1",
		"https:api.paypal.com/v1/notifications/certs/CERT-1",
		"ftp://api.paypal.com/v1/notifications/certs/CERT-1",
		"\x00",
	} {
		_, err := checkCertURL(bad)
		assert.Error(t, err, bad)
	}
}

func TestTransmissionsForget(t *testing.T) {
	tr := newTransmissions(time.Minute)
	now := time.Now()
	assert.True(t, tr.check("a", []byte("1"), now))
	assert.True(t, tr.check("a", []byte("1"), now))
	assert.False(t, tr.check("a", []byte("2"), now))
	assert.True(t, tr.check("a", []byte("2"), now.Add(2*time.Minute)), "forgotten once out of the window")
	assert.Len(t, tr.bodies, 1)
}

func TestCheckIssuerURL(t *testing.T) {
	for _, ok := range []string{
		"http://cacerts.digicert.com/DigiCertSHA2ExtendedValidationServerCA.crt",
		"https://cacerts.digicert.com/DigiCertGlobalG2TLSRSASHA2562020CA1-1.crt",
	} {
		_, err := checkIssuerURL(ok)
		assert.NoError(t, err, ok)
	}
	for _, bad := range []string{
		"http://cacerts.example.com/x.crt", "http://169.254.169.254/latest/meta-data",
		"http://cacerts.digicert.com:8080/x.crt", "file:///etc/passwd", "http://u@cacerts.digicert.com/x.crt",
	} {
		_, err := checkIssuerURL(bad)
		assert.Error(t, err, bad)
	}
}
