package postback_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/postback"
)

// Secrets as Service.AddEndpoint makes them: "whsec_" and 32 base64 bytes.
const (
	oldSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	newSecret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"
)

var sentAt = time.Unix(1_767_225_600, 0) // 2026-01-01T00:00:00Z

const body = `{"type":"entry.recorded","timestamp":"2026-01-01T00:00:00Z","data":{"id":"ent_1","amount":"5.00","currency":"USD"}}`

// signed returns the headers of a message signed by the Standard Webhooks
// project's own library with each secret, space-separated as during a
// rotation.
func signed(t testing.TB, id string, at time.Time, payload string, secrets ...string) http.Header {
	t.Helper()
	var sigs []string
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		sig, err := wh.Sign(id, at, []byte(payload))
		require.NoError(t, err)
		sigs = append(sigs, sig)
	}
	h := http.Header{}
	h.Set(postback.HeaderID, id)
	h.Set(postback.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(postback.HeaderSignature, strings.Join(sigs, " "))
	return h
}

func verifier(t testing.TB, secrets ...string) *postback.Verifier {
	t.Helper()
	v, err := postback.NewVerifier(secrets...)
	require.NoError(t, err)
	v.Now = func() time.Time { return sentAt.Add(30 * time.Second) }
	return v
}

func TestVerifyAcceptsWhatTheStandardLibrarySigns(t *testing.T) {
	for _, tc := range []struct {
		name      string
		signedBy  []string
		verifyBy  []string
		tolerance time.Duration
	}{
		{"one secret", []string{oldSecret}, []string{oldSecret}, 0},
		{"rotation: two signatures, receiver has the new secret", []string{oldSecret, newSecret}, []string{newSecret}, 0},
		{"rotation: two signatures, receiver still has the old secret", []string{oldSecret, newSecret}, []string{oldSecret}, 0},
		{"rotation: receiver has both, sender signs with the new", []string{newSecret}, []string{oldSecret, newSecret}, 0},
		{"secret without the whsec_ prefix", []string{oldSecret}, []string{strings.TrimPrefix(oldSecret, "whsec_")}, 0},
		{"a tolerance of its own", []string{oldSecret}, []string{oldSecret}, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifier(t, tc.verifyBy...)
			v.Tolerance = tc.tolerance
			id, err := v.Verify([]byte(body), signed(t, "msg_1", sentAt, body, tc.signedBy...))
			require.NoError(t, err)
			assert.Equal(t, "msg_1", id)
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	good := func() http.Header { return signed(t, "msg_1", sentAt, body, oldSecret) }
	with := func(key, value string) http.Header {
		h := good()
		h.Set(key, value)
		return h
	}
	without := func(key string) http.Header {
		h := good()
		h.Del(key)
		return h
	}
	sig := good().Get(postback.HeaderSignature)
	for _, tc := range []struct {
		name    string
		secrets []string
		body    string
		h       http.Header
		want    error
	}{
		{"tampered body", nil, strings.Replace(body, "5.00", "500.00", 1), good(), postback.ErrInvalidSignature},
		{"tampered id", nil, body, with(postback.HeaderID, "msg_2"), postback.ErrInvalidSignature},
		{"tampered timestamp", nil, body, with(postback.HeaderTimestamp, strconv.FormatInt(sentAt.Unix()+1, 10)), postback.ErrInvalidSignature},
		{"tampered signature", nil, body, with(postback.HeaderSignature, sig[:10]+"A"+sig[11:]), postback.ErrInvalidSignature},
		{"signature of another version", nil, body, with(postback.HeaderSignature, "v1a,"+strings.TrimPrefix(sig, "v1,")), postback.ErrInvalidSignature},
		{"signature without version", nil, body, with(postback.HeaderSignature, strings.TrimPrefix(sig, "v1,")), postback.ErrInvalidSignature},
		{"signature with a trailer", nil, body, with(postback.HeaderSignature, sig+",x"), postback.ErrInvalidSignature},
		{"wrong secret", []string{newSecret}, body, good(), postback.ErrInvalidSignature},
		{"no id", nil, body, without(postback.HeaderID), postback.ErrMissingHeaders},
		{"no timestamp", nil, body, without(postback.HeaderTimestamp), postback.ErrMissingHeaders},
		{"no signature", nil, body, without(postback.HeaderSignature), postback.ErrMissingHeaders},
		{"timestamp not a number", nil, body, with(postback.HeaderTimestamp, "2026-01-01T00:00:00Z"), postback.ErrTimestamp},
		{"too old", nil, body, signed(t, "msg_1", sentAt.Add(-6*time.Minute), body, oldSecret), postback.ErrTimestamp},
		{"too new", nil, body, signed(t, "msg_1", sentAt.Add(6*time.Minute), body, oldSecret), postback.ErrTimestamp},
		{"far past, no overflow", nil, body, with(postback.HeaderTimestamp, "-9223372036854775808"), postback.ErrTimestamp},
		{"far future, no overflow", nil, body, with(postback.HeaderTimestamp, "9223372036854775807"), postback.ErrTimestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{oldSecret}
			}
			id, err := verifier(t, secrets...).Verify([]byte(tc.body), tc.h)
			assert.ErrorIs(t, err, tc.want)
			assert.Empty(t, id)
		})
	}
}

func TestNewVerifierRefusesBadSecrets(t *testing.T) {
	for _, secrets := range [][]string{nil, {""}, {"whsec_"}, {"whsec_not base64!"}, {oldSecret, "whsec_%%%"}} {
		_, err := postback.NewVerifier(secrets...)
		assert.ErrorIs(t, err, postback.ErrInvalidSecret, "%q", secrets)
		if err != nil && len(secrets) > 1 {
			assert.NotContains(t, err.Error(), "%%%", "a secret is never echoed")
		}
	}
}

func TestDefaultToleranceIsFiveMinutes(t *testing.T) {
	v := verifier(t, oldSecret)
	v.Now = func() time.Time { return sentAt.Add(postback.DefaultTolerance) }
	_, err := v.Verify([]byte(body), signed(t, "msg_1", sentAt, body, oldSecret))
	require.NoError(t, err, "at the edge")
	v.Now = func() time.Time { return sentAt.Add(postback.DefaultTolerance + time.Second) }
	_, err = v.Verify([]byte(body), signed(t, "msg_1", sentAt, body, oldSecret))
	assert.ErrorIs(t, err, postback.ErrTimestamp, "past it")
}

// FuzzVerify feeds Verify garbage around real signed messages: it must never
// panic, and it must accept nothing the Standard Webhooks library refuses.
func FuzzVerify(f *testing.F) {
	for _, secrets := range [][]string{{oldSecret}, {oldSecret, newSecret}} {
		h := signed(f, "msg_2zWl5v3vXbJ7fQ9", sentAt, body, secrets...)
		f.Add(h.Get(postback.HeaderID), h.Get(postback.HeaderTimestamp), h.Get(postback.HeaderSignature), body)
	}
	h := signed(f, "msg_empty", sentAt, "", oldSecret)
	f.Add(h.Get(postback.HeaderID), h.Get(postback.HeaderTimestamp), h.Get(postback.HeaderSignature), "")
	f.Add("msg_1", "+1767225600", "v1,, v1a,x v1", "{}")
	f.Add("", "", "", "")
	reference, err := standardwebhooks.NewWebhook(oldSecret)
	require.NoError(f, err)
	v := verifier(f, oldSecret)
	v.Tolerance = 1 << 62 // the reference is asked to ignore timestamps
	f.Fuzz(func(t *testing.T, id, ts, sig, payload string) {
		h := http.Header{}
		h.Set(postback.HeaderID, id)
		h.Set(postback.HeaderTimestamp, ts)
		h.Set(postback.HeaderSignature, sig)
		got, err := v.Verify([]byte(payload), h)
		if err != nil {
			assert.Empty(t, got)
			return
		}
		assert.Equal(t, h.Get(postback.HeaderID), got)
		assert.NoError(t, reference.VerifyIgnoringTimestamp([]byte(payload), h), "accepted only what the reference accepts")
	})
}
