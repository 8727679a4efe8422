package stream_test

import (
	"encoding/json"
	"log"
	"net/http"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/stream"
)

// A host mounts the stream outside its API authentication and hands the
// paying client a token with the checkout. In the browser:
//
//	const es = new EventSource(`/payments/${id}/events?token=${token}`);
//	es.onmessage = (e) => {
//	  const p = JSON.parse(e.data);   // {payment_id, status, version, amount, currency, updated_at, final}
//	  show(p.status);
//	  if (p.final) es.close();
//	};
func Example() {
	svc, err := payments.New(memory.New() /* payments.WithGateway(...) */)
	if err != nil {
		log.Fatal(err)
	}
	key := []byte("a 32-byte key from your secrets!") // the same on every instance
	streams, err := stream.New(svc, stream.Options{Key: key})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /payments/{id}/events", streams)
	mux.HandleFunc("POST /checkout", func(w http.ResponseWriter, r *http.Request) {
		p, err := svc.Checkout(r.Context(), "stripe", payments.CheckoutRequest{ /* ... */ })
		if err != nil {
			http.Error(w, "checkout failed", http.StatusBadGateway)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{
			"id":           p.ID,
			"stream_token": stream.Token(key, p.ID, 30*time.Minute, time.Now()),
		})
	})
	srv := &http.Server{Addr: ":8080", Handler: mux}
	srv.RegisterOnShutdown(streams.Close) // Shutdown need not wait for open streams
	// log.Fatal(srv.ListenAndServe())
}
