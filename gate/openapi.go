package gate

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 document of the merchant API, served at
// PathOpenAPI. It is JSON so that the gate needs no YAML dependency.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPI)
}
