package gate_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gateway/gatewaytest"
)

func (e *env) api(token, url string) answer {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	return e.do(req)
}

// reportEnv has m1's payments on two days — one paid, one pending, one in
// yen — and one of m2's that m1's reports never show.
func reportEnv(t *testing.T) (e *env, token2 string, day time.Time) {
	e = newEnv(t, nil)
	day = time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	e.clock.Add(day.Add(10 * time.Hour).Sub(e.clock.Now()))
	token2, _ = e.addMerchant("m2", "fake")
	paid := e.init(e.token, body(func(b map[string]any) { b["customerName"] = "=HYPERLINK(\"x\")" }))
	require.Equal(t, http.StatusOK, paid.code, paid.body)
	e.webhook(e.fake, gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "fp_1", Amount: "10.50", Currency: "USD"})
	_, err := e.gate.Sweep(t.Context())
	require.NoError(t, err)
	e.clock.Add(time.Minute) // listings are ordered by time, then by the random id
	require.Equal(t, http.StatusOK, e.init(e.token, body(func(b map[string]any) { b["id"] = "order-1002"; b["amount"] = "0.99" })).code)
	require.Equal(t, http.StatusOK, e.init(token2, body(func(b map[string]any) { b["amount"] = "99.00" })).code)
	e.clock.Add(24 * time.Hour)
	require.Equal(t, http.StatusOK, e.init(e.token, body(func(b map[string]any) {
		b["id"], b["amount"], b["currency"] = "order-1003", "1500", "JPY"
	})).code)
	return e, token2, day
}

func TestDailyReportIsTheMerchantsOwn(t *testing.T) {
	e, token2, _ := reportEnv(t)
	a := e.api(e.token, base+gate.PathDailyReport+"?from=2026-03-14&to=2026-03-15")
	require.Equal(t, http.StatusOK, a.code, a.body)
	assert.Equal(t, "m1", a.json["merchantId"])
	want := `[
		{"day":"2026-03-14","gateway":"fake","status":"pending","currency":"USD","count":1,"amountMinor":99,"amount":"0.99"},
		{"day":"2026-03-14","gateway":"fake","status":"succeeded","currency":"USD","count":1,"amountMinor":1050,"amount":"10.50"},
		{"day":"2026-03-15","gateway":"fake","status":"pending","currency":"JPY","count":1,"amountMinor":1500,"amount":"1500"}]`
	got, _ := json.Marshal(a.json["totals"])
	assert.JSONEq(t, want, string(got))

	other := e.api(token2, base+gate.PathDailyReport+"?from=2026-03-14&to=2026-03-15")
	require.Equal(t, http.StatusOK, other.code)
	got, _ = json.Marshal(other.json["totals"])
	assert.JSONEq(t, `[{"day":"2026-03-14","gateway":"fake","status":"pending","currency":"USD","count":1,"amountMinor":9900,"amount":"99.00"}]`, string(got))

	byDefault := e.api(e.token, base+gate.PathDailyReport)
	require.Equal(t, http.StatusOK, byDefault.code)
	assert.Equal(t, "2026-03-15", byDefault.json["to"], "today by default")
	assert.Len(t, byDefault.json["totals"], 3)

	for _, q := range []string{"?from=14.03.2026", "?to=2026-02-30", "?from=2026-03-15&to=2026-03-14", "?from=2020-01-01&to=2026-03-14"} {
		bad := e.api(e.token, base+gate.PathDailyReport+q)
		assert.Equal(t, http.StatusUnprocessableEntity, bad.code, q)
	}
	assert.Equal(t, http.StatusUnauthorized, e.api("", base+gate.PathDailyReport).code)
	assert.Equal(t, http.StatusUnauthorized, e.api("gtk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", base+gate.PathDailyReport).code)

	totals, err := e.gate.DailyTotals(t.Context(), "m1", time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 16, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, []gate.DailyTotal{{Day: "2026-03-15", Gateway: "fake", Status: gate.StatusPending, Currency: "JPY", Count: 1,
		AmountMinor: 1500, Amount: "1500"}}, totals, "the Go API")
}

func TestExportPagesByCursor(t *testing.T) {
	e, _, _ := reportEnv(t)
	url := base + gate.PathTransactionsCSV + "?from=2026-03-14&to=2026-03-15"
	first := e.api(e.token, url+"&limit=2")
	require.Equal(t, http.StatusOK, first.code, first.body)
	assert.Equal(t, "text/csv; charset=utf-8", first.header.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(first.body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3, "header and two payments")
	assert.Equal(t, []string{"id", "paymentId", "createdAt", "gateway", "status", "amount", "amountMinor", "currency", "customerEmail", "customerName"}, rows[0])
	assert.Equal(t, "order-1001", rows[1][0])
	assert.Equal(t, "succeeded", rows[1][4])
	assert.Equal(t, "10.50", rows[1][5])
	assert.Equal(t, "1050", rows[1][6])
	assert.Equal(t, `'=HYPERLINK("x")`, rows[1][9], "a formula is defused")
	next := first.header.Get("Next-Cursor")
	require.NotEmpty(t, next)
	assert.Contains(t, first.header.Get("Link"), "cursor="+next)
	assert.Contains(t, first.header.Get("Link"), `rel="next"`)

	second := e.api(e.token, base+gate.PathTransactionsJSONL+"?from=2026-03-14&to=2026-03-15&limit=2&cursor="+next)
	require.Equal(t, http.StatusOK, second.code, second.body)
	assert.Empty(t, second.header.Get("Next-Cursor"), "the last page")
	lines := strings.Split(strings.TrimSpace(second.body), "\n")
	require.Len(t, lines, 1)
	var tx map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &tx))
	assert.Equal(t, "order-1003", tx["id"])
	assert.Equal(t, "1500", tx["amount"])
	assert.Equal(t, float64(1500), tx["amountMinor"])
	assert.Equal(t, "JPY", tx["currency"])

	for _, q := range []string{"&cursor=nonsense", "&limit=0", "&limit=10001"} {
		assert.Equal(t, http.StatusUnprocessableEntity, e.api(e.token, url+q).code, q)
	}
	assert.Equal(t, http.StatusUnauthorized, e.api("", url).code)
}

// plainRecords is a RecordStore without the power to report.
type plainRecords struct{ gate.RecordStore }

func TestReportsNeedAReportStore(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) { c.Records = plainRecords{c.Records} })
	a := e.api(e.token, base+gate.PathDailyReport)
	assert.Equal(t, http.StatusNotImplemented, a.code)
	assert.Equal(t, string(gate.CodeNotSupported), a.json["error"].(map[string]any)["code"])
	assert.Equal(t, http.StatusNotImplemented, e.api(e.token, base+gate.PathTransactionsCSV).code)
	_, err := e.gate.DailyTotals(context.Background(), "m1", time.Now(), time.Now())
	assert.Error(t, err)
}
