package postback_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/postback"
)

func TestHandlerPassesOnlyVerifiedPostbacks(t *testing.T) {
	v := verifier(t, oldSecret)
	var got string
	h := v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		got = string(b)
		w.WriteHeader(http.StatusNoContent)
	}))
	request := func(method, payload string, header http.Header) *http.Request {
		r := httptest.NewRequest(method, "/postbacks", strings.NewReader(payload))
		for k, vs := range header {
			r.Header[k] = vs
		}
		return r
	}
	good := signed(t, "msg_1", sentAt, body, oldSecret)
	stale := signed(t, "msg_1", sentAt.Add(-time.Hour), body, oldSecret)
	for _, tc := range []struct {
		name string
		req  *http.Request
		want int
	}{
		{"verified", request(http.MethodPost, body, good), http.StatusNoContent},
		{"tampered", request(http.MethodPost, body+" ", good), http.StatusUnauthorized},
		{"stale", request(http.MethodPost, body, stale), http.StatusUnauthorized},
		{"not a postback", request(http.MethodPost, body, nil), http.StatusBadRequest},
		{"GET", request(http.MethodGet, "", good), http.StatusMethodNotAllowed},
		{"too large", request(http.MethodPost, strings.Repeat("x", postback.MaxBodyBytes+1), good), http.StatusRequestEntityTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = ""
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tc.req)
			assert.Equal(t, tc.want, w.Code)
			if tc.want == http.StatusNoContent {
				assert.Equal(t, body, got, "next reads the verified body")
			} else {
				assert.Empty(t, got, "next is not called")
				assert.NotContains(t, w.Body.String(), "signature", "the reason is not told")
			}
		})
	}
}

func TestDecode(t *testing.T) {
	m, err := postback.Decode([]byte(body))
	require.NoError(t, err)
	assert.Equal(t, postback.EventEntryRecorded, m.Type)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), m.Timestamp.UTC())
	e, err := m.Entry()
	require.NoError(t, err)
	assert.Equal(t, "ent_1", e.ID)
	assert.Equal(t, "5.00", e.Amount)
	assert.Nil(t, e.Settled)

	unknown, err := postback.Decode([]byte(`{"type":"payout.sent","timestamp":"2026-01-01T00:00:00Z","data":{"x":1}}`))
	require.NoError(t, err, "an unknown type decodes: the receiver acknowledges and ignores it")
	_, err = unknown.Payment()
	assert.ErrorIs(t, err, postback.ErrWrongType)

	for _, bad := range []string{``, `null`, `[]`, `{"type":"entry.recorded"}`, `{"data":{}}`, `{"type":1}`} {
		_, err := postback.Decode([]byte(bad))
		assert.Error(t, err, bad)
	}
}
