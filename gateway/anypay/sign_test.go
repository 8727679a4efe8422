package anypay_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
)

// TestSignVectors reproduces digests computed by sha256sum and md5sum
// (testdata/generate.sh) over the inputs of anypay-node's examples. No
// Anypay module or client library publishes an expected sign that could be
// reproduced instead: their tests compute the formula and compare it with
// itself. The formulas' sources are listed in sign.go.
func TestSignVectors(t *testing.T) {
	f, err := os.Open("testdata/sign_vectors.tsv")
	require.NoError(t, err)
	defer f.Close()
	got := map[string]string{}
	want := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		require.Len(t, cols, 3)
		want[cols[0]] = cols[2]
	}
	const (
		merchant, payID, amount, currency = testMerchant, "12345", "100.00", "RUB"
		success, fail                     = "https://example.com/success", "https://example.com/fail"
	)
	got["form sha256"] = anypay.FormSign(merchant, payID, amount, currency, "Test ödeme", success, fail, testSecret)
	got["form sha256, no desc or URLs"] = anypay.FormSign(merchant, payID, amount, currency, "", "", "", testSecret)
	got["form md5"] = anypay.FormSignMD5(currency, amount, testSecret, merchant, payID)
	got["notification sha256"] = anypay.NotificationSign(currency, amount, payID, merchant, "paid", testSecret)
	got["notification md5"] = anypay.NotificationSignMD5(merchant, amount, payID, testSecret)
	got["api balance"] = anypay.APISign("balance", "12345", nil, "api-key-0f3a")
	got["api payments"] = anypay.APISign("payments", "12345", []string{merchant}, "api-key-0f3a")
	require.Len(t, want, len(got))
	assert.Equal(t, want, got)
	assert.Equal(t, want["notification sha256"], shaSign(currency, amount, payID, merchant, "paid", testSecret), "the tests' own formula")
	assert.Equal(t, want["notification md5"], md5Sign(merchant, amount, payID, testSecret), "the tests' own formula")
}

// TestFixturesSignedBySha256sum checks the notifications in testdata
// against the driver, whose formula never wrote them.
func TestFixturesSignedBySha256sum(t *testing.T) {
	for _, name := range []string{"notification_paid.form", "notification_waiting.form", "notification_foreign.form"} {
		_, err := newGateway(t).ParseWebhook(t.Context(), notificationRequest(readFixture(t, name)))
		assert.NoError(t, err, name)
	}
	peer := newFakeAnypay(t, true)
	peer.hold("pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5", payments.Money{Amount: 10000, Currency: "RUB"})
	_, err := newGateway(t, peer.config).ParseWebhook(t.Context(), notificationRequest(readFixture(t, "notification_paid_md5.form")))
	assert.NoError(t, err)
}
