package postback_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/payrail/payments/postback"
)

// A merchant's endpoint: Handler verifies, the handler behind it decodes
// and credits each entry once. The endpoint's secret is the one
// Service.AddEndpoint returned; during a rotation, pass both.
func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // from the payments operator, kept out of the code
	v, err := postback.NewVerifier(secret)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/payments/postbacks", v.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // verified, at most MaxBodyBytes
		m, err := postback.Decode(body)
		if err != nil {
			http.Error(w, "bad message", http.StatusBadRequest)
			return
		}
		switch m.Type {
		case postback.EventEntryRecorded:
			e, err := m.Entry()
			if err != nil {
				http.Error(w, "bad entry", http.StatusBadRequest)
				return
			}
			// e.ID is the idempotency key of the money movement: credit it
			// once, in the transaction that remembers e.ID, then answer 2xx.
			fmt.Printf("credit %s %s %s (entry %s)\n", e.Account, e.Amount, e.Currency, e.ID)
		default:
			// Acknowledge what this endpoint does not act on, or it is
			// retried for days.
		}
		w.WriteHeader(http.StatusNoContent)
	})))

	// What the payments Service sends, signed here with the Standard
	// Webhooks library to stand in for it.
	payload := `{"type":"entry.recorded","timestamp":"2026-01-01T00:00:00Z","data":{"id":"ent_9","account":"amy","amount":"12.50","currency":"EUR"}}`
	wh, _ := standardwebhooks.NewWebhook(secret)
	now := time.Now()
	sig, _ := wh.Sign("msg_1", now, []byte(payload))
	req := httptest.NewRequest(http.MethodPost, "/payments/postbacks", strings.NewReader(payload))
	req.Header.Set("webhook-id", "msg_1")
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	fmt.Println(w.Code)
	// Output:
	// credit amy 12.50 EUR (entry ent_9)
	// 204
}

// Verify on its own, for a framework that is not net/http's.
func ExampleVerifier_Verify() {
	v, err := postback.NewVerifier("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "msg_1")
	h.Set("webhook-timestamp", fmt.Sprint(time.Now().Unix()))
	h.Set("webhook-signature", "v1,forged")
	_, err = v.Verify([]byte(`{}`), h)
	fmt.Println(err)
	// Output: postback: no matching signature
}
