package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickstart runs the newcomer's first command as `go run` does; run
// itself fails unless the journal, the ledger and the balance hold exactly
// what was delivered and attributed.
func TestQuickstart(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), &out), out.String())
	assert.Contains(t, out.String(), "-> 401 Unauthorized", "the tampered payment is refused")
	assert.Contains(t, out.String(), `-> 200 OK {"outcome":"parked"}`)
	assert.Contains(t, out.String(), "svc.Attribute again -> duplicate")
	assert.Contains(t, out.String(), "balance of user-42: 29.50 USD (3 entries)")
}
