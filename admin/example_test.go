package admin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/payrail/payments"
	"github.com/payrail/payments/admin"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// requireOperator stands for the host's own authentication: the admin pages
// authenticate no one themselves.
func requireOperator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Operator") == "" {
			http.Error(w, "operators only", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ExampleHandler mounts the admin pages under /admin behind the host's
// authentication, granting actions to operators with the "payments-admin"
// role only.
func ExampleHandler() {
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("whsec_example")))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/admin/", requireOperator(http.StripPrefix("/admin", admin.Handler(svc, admin.Options{
		Prefix: "/admin",
		Authorize: func(r *http.Request, action string) bool {
			return r.Header.Get("X-Operator-Role") == "payments-admin"
		},
	}))))

	req := httptest.NewRequest(http.MethodGet, "/admin/parked", nil)
	req.Header.Set("X-Operator", "ada")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("X-Frame-Options"))
	// Output: 200 DENY
}
