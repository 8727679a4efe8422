package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// deliver posts a Fake-signed notification to the server's webhook and
// returns the answer.
func (s *testServer) deliver(t *testing.T, ev gatewaytest.Event) (int, string) {
	t.Helper()
	return s.deliverRequest(t, s.fake.Request(ev, time.Now()))
}

func (s *testServer) deliverRequest(t *testing.T, req *payments.WebhookRequest) (int, string) {
	t.Helper()
	httpReq, err := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/fake-handleWebhookEvents", bytes.NewReader(req.Body))
	require.NoError(t, err)
	httpReq.Header = req.Header
	resp, err := http.DefaultClient.Do(httpReq)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func charge(id, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: id, Type: "payment.succeeded", PaymentID: "fp_" + id, Account: account, Amount: amount, Currency: "USD"}
}

// list reads a listing's rows under key.
func list(t *testing.T, res map[string]any, key string) []map[string]any {
	t.Helper()
	rows, ok := res[key].([]any)
	require.True(t, ok, "%s is a list: %v", key, res)
	out := make([]map[string]any, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.(map[string]any))
	}
	return out
}

func balance(t *testing.T, s *testServer, account string) []map[string]any {
	t.Helper()
	code, res := s.call(t, "GET", "/accounts/"+account+"/balances", nil)
	require.Equal(t, http.StatusOK, code, res)
	return list(t, res, "balances")
}

// TestParkedNotificationIsAttributedOnce follows money that arrived without
// an account: parked and answered 2xx, listed for the operator, credited by
// one call, credited once however often that call is repeated, and never
// credited to a second account.
func TestParkedNotificationIsAttributedOnce(t *testing.T) {
	s := newTestServer(t, "op-token")
	code, body := s.deliver(t, charge("evt_parked", "", "12.00"))
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "ok evt_parked", body, "parked money is acknowledged: the gateway delivered it")
	code, _ = s.deliver(t, charge("evt_known", "user-1", "1.00"))
	require.Equal(t, http.StatusOK, code)

	code, res := s.call(t, "GET", "/notifications?outcome=parked&unresolved=true", nil)
	require.Equal(t, http.StatusOK, code, res)
	parked := list(t, res, "notifications")
	require.Len(t, parked, 1)
	assert.Empty(t, res["next"])
	n := parked[0]
	id := n["id"].(string)
	assert.Equal(t, "fake", n["gateway"])
	assert.Equal(t, "parked", n["outcome"])
	assert.Equal(t, true, n["verified"])
	assert.Equal(t, "evt_parked", n["event_id"])
	assert.Equal(t, "payment.succeeded", n["event_type"])
	assert.NotEmpty(t, n["detail"], "the journal says why it is parked")
	assert.NotEmpty(t, n["received_at"])
	assert.Empty(t, n["resolved_by"])
	assert.Empty(t, n["replay_of"])
	assert.NotContains(t, n, "body", "listings never carry bodies")
	assert.NotContains(t, n, "header")

	code, one := s.call(t, "GET", "/notifications/"+id, nil)
	require.Equal(t, http.StatusOK, code, one)
	sent := s.fake.Request(charge("evt_parked", "", "12.00"), time.Now()).Body
	assert.Equal(t, string(sent), one["body"], "the operator reads whose money it is in the body")
	assert.NotContains(t, one, "header", "the signature header stays in the journal")

	code, res = s.call(t, "POST", "/notifications/"+id+"/attribute", map[string]any{"account": "user-7", "reference": "order:1:a"})
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "recorded", res["outcome"])
	entries := list(t, res, "entries")
	require.Len(t, entries, 1)
	assert.Equal(t, "12.00", entries[0]["amount"])
	assert.Equal(t, "user-7", entries[0]["account"])
	created := list(t, res, "created")
	require.Len(t, created, 1, "the attribution created the payment the notification names")
	assert.Equal(t, "user-7", created[0]["account"])
	assert.Equal(t, "order:1:a", created[0]["reference"])
	replay := res["notification"].(map[string]any)
	assert.Equal(t, id, replay["replay_of"])
	assert.Equal(t, "recorded", replay["outcome"])

	bal := balance(t, s, "user-7")
	require.Len(t, bal, 1)
	assert.Equal(t, "12.00", bal[0]["amount"])
	assert.Equal(t, float64(1), bal[0]["entries"])

	code, res = s.call(t, "GET", "/notifications?outcome=parked&unresolved=true", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Empty(t, list(t, res, "notifications"), "nothing waits any more")
	code, res = s.call(t, "GET", "/notifications?outcome=parked", nil)
	require.Equal(t, http.StatusOK, code, res)
	parked = list(t, res, "notifications")
	require.Len(t, parked, 1)
	assert.Equal(t, replay["id"], parked[0]["resolved_by"], "listed as resolved by the attribution's replay")

	// The same call again: nothing recorded twice.
	code, res = s.call(t, "POST", "/notifications/"+id+"/attribute", map[string]any{"account": "user-7", "reference": "order:1:a"})
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "duplicate", res["outcome"])
	assert.Empty(t, list(t, res, "entries"))
	assert.Len(t, list(t, res, "duplicates"), 1)
	bal = balance(t, s, "user-7")
	assert.Equal(t, "12.00", bal[0]["amount"], "credited once")
	assert.Equal(t, float64(1), bal[0]["entries"])

	// Money that is user-7's is not anyone else's.
	code, res = s.call(t, "POST", "/notifications/"+id+"/attribute", map[string]any{"account": "user-8"})
	assert.Equal(t, http.StatusConflict, code, res)
	assert.Equal(t, "rejected", res["result"])
	assert.Empty(t, balance(t, s, "user-8"))
	assert.Equal(t, "12.00", balance(t, s, "user-7")[0]["amount"])

	for _, tt := range []struct {
		name, path string
		body       any
		code       int
	}{
		{"no account", "/notifications/" + id + "/attribute", map[string]any{"reference": "order:1:a"}, http.StatusUnprocessableEntity},
		{"unknown field", "/notifications/" + id + "/attribute", map[string]any{"account": "user-7", "amount": "1.00"}, http.StatusBadRequest},
		{"unknown notification", "/notifications/ntf_nope/attribute", map[string]any{"account": "user-7"}, http.StatusNotFound},
	} {
		code, res := s.call(t, "POST", tt.path, tt.body)
		assert.Equal(t, tt.code, code, "%s: %v", tt.name, res)
		assert.NotEmpty(t, res["error"], tt.name)
	}

	s.token = ""
	code, _ = s.call(t, "GET", "/notifications?outcome=parked", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = s.call(t, "GET", "/notifications/"+id, nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = s.call(t, "POST", "/notifications/"+id+"/attribute", map[string]any{"account": "user-9"})
	assert.Equal(t, http.StatusUnauthorized, code)
	s.token = "op-token"
	assert.Empty(t, balance(t, s, "user-9"), "an unauthorized attribution records nothing")
}

func TestReplay(t *testing.T) {
	s := newTestServer(t, "")
	code, _ := s.deliver(t, charge("evt_1", "user-1", "5.00"))
	require.Equal(t, http.StatusOK, code)
	forged := s.fake.Request(charge("evt_2", "user-1", "5.00"), time.Now())
	forged.Body = bytes.Replace(forged.Body, []byte(`"5.00"`), []byte(`"500.00"`), 1)
	code, _ = s.deliverRequest(t, forged)
	require.Equal(t, http.StatusUnauthorized, code)

	code, res := s.call(t, "GET", "/notifications?outcome=recorded", nil)
	require.Equal(t, http.StatusOK, code, res)
	recorded := list(t, res, "notifications")
	require.Len(t, recorded, 1)
	code, res = s.call(t, "POST", "/notifications/"+recorded[0]["id"].(string)+"/replay", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "duplicate", res["outcome"], "a replay records nothing twice")
	assert.Equal(t, recorded[0]["id"], res["notification"].(map[string]any)["replay_of"])

	code, res = s.call(t, "GET", "/notifications?outcome=rejected", nil)
	require.Equal(t, http.StatusOK, code, res)
	rejected := list(t, res, "notifications")
	require.Len(t, rejected, 1)
	assert.Equal(t, false, rejected[0]["verified"])
	code, res = s.call(t, "POST", "/notifications/"+rejected[0]["id"].(string)+"/replay", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "what never verified is never replayed")
	assert.NotEmpty(t, res["error"])
	assert.Equal(t, "5.00", balance(t, s, "user-1")[0]["amount"])
}

// pages follows a listing's cursor from path to its last page and returns
// every row and the size of each page.
func pages(t *testing.T, s *testServer, path, key string) (rows []map[string]any, sizes []int) {
	t.Helper()
	after := ""
	for range 100 {
		p := path
		if after != "" {
			p += "&after=" + url.QueryEscape(after)
		}
		code, res := s.call(t, "GET", p, nil)
		require.Equal(t, http.StatusOK, code, res)
		page := list(t, res, key)
		rows = append(rows, page...)
		sizes = append(sizes, len(page))
		next, _ := res["next"].(string)
		if next == "" {
			return rows, sizes
		}
		after = next
	}
	t.Fatalf("%s: more than 100 pages", path)
	return nil, nil
}

func TestEntriesPageWithCursor(t *testing.T) {
	s := newTestServer(t, "")
	var want []string
	for _, id := range []string{"evt_a", "evt_b", "evt_c", "evt_d", "evt_e"} {
		code, _ := s.deliver(t, charge(id, "user-1", "1.00"))
		require.Equal(t, http.StatusOK, code)
		want = append(want, payments.EntryID("fake", payments.KindCharge, "fp_"+id))
		code, _ = s.deliver(t, charge(id+"_other", "user-2", "2.00"))
		require.Equal(t, http.StatusOK, code)
	}

	rows, sizes := pages(t, s, "/entries?account=user-1&limit=2", "entries")
	assert.Equal(t, []int{2, 2, 1}, sizes)
	var got []string
	for _, e := range rows {
		got = append(got, e["id"].(string))
		assert.Equal(t, "user-1", e["account"])
		assert.Equal(t, "1.00", e["amount"])
	}
	assert.Equal(t, want, got, "every entry once, oldest first")

	all, _ := pages(t, s, "/entries?gateway=fake&limit=3", "entries")
	assert.Len(t, all, 10)

	code, res := s.call(t, "GET", "/entries?payment="+url.QueryEscape(rows[0]["payment_id"].(string)), nil)
	require.Equal(t, http.StatusOK, code, res)
	byPayment := list(t, res, "entries")
	require.Len(t, byPayment, 1)
	assert.Equal(t, want[0], byPayment[0]["id"])

	journal, sizes := pages(t, s, "/notifications?gateway=fake&limit=4", "notifications")
	assert.Equal(t, []int{4, 4, 2}, sizes)
	assert.Len(t, journal, 10)

	for _, tt := range []struct {
		path string
		code int
	}{
		{"/entries?account=user-1&after=not-a-cursor", http.StatusUnprocessableEntity},
		{"/entries?limit=0", http.StatusBadRequest},
		{"/entries?limit=two", http.StatusBadRequest},
		{"/entries?limit=1001", http.StatusBadRequest},
		{"/entries?acount=user-1", http.StatusBadRequest},
		{"/notifications?outcome=lost", http.StatusBadRequest},
		{"/notifications?unresolved=perhaps", http.StatusBadRequest},
		{"/sync-tasks?state=stuck", http.StatusBadRequest},
	} {
		code, res := s.call(t, "GET", tt.path, nil)
		assert.Equal(t, tt.code, code, "%s: %v", tt.path, res)
		assert.NotEmpty(t, res["error"], tt.path)
	}
}

func TestParkedSyncTasksAreRequeued(t *testing.T) {
	host := payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		if e.Account == "closed" {
			return payments.Permanent(errors.New("host: account closed"))
		}
		return nil
	})
	s := newTestServer(t, "", payments.WithBalanceService(host))
	code, _ := s.deliver(t, charge("evt_ok", "user-1", "1.00"))
	require.Equal(t, http.StatusOK, code)
	code, _ = s.deliver(t, charge("evt_closed", "closed", "3.00"))
	require.Equal(t, http.StatusOK, code)

	code, res := s.call(t, "GET", "/sync-tasks?state=parked", nil)
	require.Equal(t, http.StatusOK, code, res)
	parked := list(t, res, "sync_tasks")
	require.Len(t, parked, 1)
	entry := parked[0]["entry"].(map[string]any)
	assert.Equal(t, "closed", entry["account"])
	assert.Equal(t, "parked", parked[0]["state"])
	assert.Equal(t, float64(1), parked[0]["attempts"])
	assert.Contains(t, parked[0]["last_error"], "account closed")

	all, _ := pages(t, s, "/sync-tasks?limit=1", "sync_tasks")
	assert.Len(t, all, 2, "one done, one parked")

	entryID := entry["id"].(string)
	code, res = s.call(t, "POST", "/sync-tasks/"+entryID+"/requeue", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "pending", res["state"])
	code, res = s.call(t, "POST", "/sync-tasks/"+entryID+"/requeue", nil)
	assert.Equal(t, http.StatusConflict, code, "only a parked task is requeued: %v", res)
	code, res = s.call(t, "POST", "/sync-tasks/ent_nope/requeue", nil)
	assert.Equal(t, http.StatusNotFound, code, res)

	code, res = s.call(t, "GET", "/sync-tasks?state=parked", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Empty(t, list(t, res, "sync_tasks"))
	code, res = s.call(t, "GET", "/sync-tasks?state=pending", nil)
	require.Equal(t, http.StatusOK, code, res)
	pending := list(t, res, "sync_tasks")
	require.Len(t, pending, 1)
	assert.Equal(t, entryID, pending[0]["entry"].(map[string]any)["id"])
	assert.Equal(t, float64(0), pending[0]["attempts"], "a requeued task starts afresh")
}
