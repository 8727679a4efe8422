package gate_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gate"
)

// The document parses, is OpenAPI 3.1, is what the gate serves, and every
// operation it names is routed (answered by its handler, not 404 or 405).
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(gate.OpenAPI, &doc))
	assert.True(t, strings.HasPrefix(doc.OpenAPI, "3.1."), doc.OpenAPI)
	require.NotEmpty(t, doc.Paths)

	e := newEnv(t, nil)
	served := e.get(base + gate.PathOpenAPI)
	require.Equal(t, http.StatusOK, served.code)
	assert.JSONEq(t, string(gate.OpenAPI), served.body)

	methods := map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true}
	operations := 0
	for path, item := range doc.Paths {
		for method := range item {
			if !methods[method] {
				continue
			}
			operations++
			req := httptest.NewRequest(strings.ToUpper(method), base+path, strings.NewReader("{}"))
			a := e.do(req)
			assert.NotEqual(t, http.StatusNotFound, a.code, "%s %s is routed", method, path)
			assert.NotEqual(t, http.StatusMethodNotAllowed, a.code, "%s %s is routed", method, path)
		}
	}
	assert.Equal(t, 2, operations)
}
