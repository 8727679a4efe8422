package anypay_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
)

// The project the fixtures in testdata were signed for (see
// testdata/generate.sh): the merchant id and secret of the npm package
// anypay-node's examples.
const (
	testMerchant = "1399"
	testSecret   = "NLmx0woAqrgHYnMbDSVLChCJ77R8adf"
	anypayIP     = "185.162.128.38"
)

// field is one field of a notification, in the order Anypay posts it.
type field struct{ name, value string }

// shaSign and md5Sign are the notification formulas written out here,
// independently of the driver.
func shaSign(currency, amount, payID, merchant, status, secret string) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{currency, amount, payID, merchant, status, secret}, ":")))
	return hex.EncodeToString(sum[:])
}

func md5Sign(merchant, amount, payID, secret string) string {
	sum := md5.Sum([]byte(strings.Join([]string{merchant, amount, payID, secret}, ":")))
	return hex.EncodeToString(sum[:])
}

// notificationFields is a paid notification shaped like the fixtures,
// with the given fields replaced or, when new, appended.
func notificationFields(overrides ...field) []field {
	fields := []field{
		{"merchant_id", testMerchant}, {"transaction_id", "4950030"}, {"pay_id", "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4"},
		{"amount", "100.00"}, {"currency", "RUB"}, {"profit", "95.00"}, {"email", "customer@example.com"},
		{"method", "card"}, {"date", "01.02.2024 10:00:00"}, {"pay_date", "01.02.2024 10:01:30"}, {"status", "paid"},
	}
	for _, o := range overrides {
		replaced := false
		for i := range fields {
			if fields[i].name == o.name {
				fields[i], replaced = o, true
			}
		}
		if !replaced {
			fields = append(fields, o)
		}
	}
	return fields
}

// only keeps the named fields.
func only(fields []field, names ...string) []field {
	var out []field
	for _, f := range fields {
		for _, n := range names {
			if f.name == n {
				out = append(out, f)
			}
		}
	}
	return out
}

// encodeNotification writes the form with sign last, signed with secret
// under SHA-256, or MD5 when md5 is set.
func encodeNotification(fields []field, secret string, md5 bool) []byte {
	v := map[string]string{}
	var parts []string
	for _, f := range fields {
		v[f.name] = f.value
		parts = append(parts, url.QueryEscape(f.name)+"="+url.QueryEscape(f.value))
	}
	sign := shaSign(v["currency"], v["amount"], v["pay_id"], v["merchant_id"], v["status"], secret)
	if md5 {
		sign = md5Sign(v["merchant_id"], v["amount"], v["pay_id"], secret)
	}
	return []byte(strings.Join(append(parts, "sign="+sign), "&"))
}

// withoutField removes one field from a form body.
func withoutField(body []byte, name string) []byte {
	var kept [][]byte
	for part := range bytes.SplitSeq(body, []byte("&")) {
		if !bytes.HasPrefix(part, []byte(name+"=")) {
			kept = append(kept, part)
		}
	}
	return bytes.Join(kept, []byte("&"))
}

// resign returns body, when it parses as a form, for the test project and
// signed with secret; otherwise body unchanged. Fuzz tests use it to get
// past the signature check.
func resign(body []byte, secret string) []byte {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return body
	}
	form.Set("merchant_id", testMerchant)
	form.Set("sign", shaSign(form.Get("currency"), form.Get("amount"), form.Get("pay_id"), testMerchant, form.Get("status"), secret))
	return []byte(form.Encode())
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return bytes.TrimSpace(b)
}

func fixtureSeeds(t testing.TB) [][]byte {
	paths, err := filepath.Glob("testdata/notification_*.form")
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var seeds [][]byte
	for _, p := range paths {
		seeds = append(seeds, readFixture(t, filepath.Base(p)))
	}
	return seeds
}

func newGateway(t testing.TB, mutate ...func(*anypay.Config)) *anypay.Gateway {
	t.Helper()
	cfg := anypay.Config{MerchantID: testMerchant, SecretKey: testSecret}
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := anypay.New(cfg)
	require.NoError(t, err)
	return g
}

func notificationRequest(body []byte) *payments.WebhookRequest {
	return &payments.WebhookRequest{Body: body, RemoteAddr: anypayIP + ":44312"}
}

func rub(t testing.TB, amount string) payments.Money {
	m, err := payments.ParseMoney(amount, "RUB")
	require.NoError(t, err)
	return m
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
