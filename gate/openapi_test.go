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
	assert.Equal(t, 5, operations)
}

// The integration page lists every path and operation of the document,
// with its fields and the error codes.
func TestDocsPageListsEveryOperation(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(gate.OpenAPI, &doc))
	e := newEnv(t, nil)
	page := e.get(base + gate.PathDocs)
	require.Equal(t, http.StatusOK, page.code)
	assert.Equal(t, "text/html; charset=utf-8", page.header.Get("Content-Type"))
	for path, item := range doc.Paths {
		assert.Contains(t, page.body, "<code>"+path+"</code>", "the page lists %s", path)
		for method, op := range item {
			assert.Contains(t, page.body, `id="`+op.OperationID+`"`, "%s %s has a section", method, path)
		}
	}
	for _, field := range []string{"customerEmail", "postbackUrl", "amountMinor", "cursor (query)", "Next-Cursor", "data.paymentId"} {
		assert.Contains(t, page.body, "<code>"+field+"</code>", field)
	}
	for _, code := range []gate.ErrorCode{gate.CodeUnauthorized, gate.CodeIdempotencyConflict, gate.CodeNotSupported} {
		assert.Contains(t, page.body, "<code>"+string(code)+"</code>")
	}
	assert.Contains(t, page.body, "No token needed.", "the document itself is public")
}
