package payments_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func TestReferenceRoundTrip(t *testing.T) {
	r, err := payments.NewReference("order", "672626")
	require.NoError(t, err)
	assert.Len(t, r.Suffix, 6)
	parsed, err := payments.ParseReference(r.String())
	require.NoError(t, err)
	assert.Equal(t, r, parsed)

	other, err := payments.NewReference("order", "672626")
	require.NoError(t, err)
	assert.NotEqual(t, r.Suffix, other.Suffix, "each attempt gets its own suffix")

	parsed, err = payments.ParseReference("order:672626:k3j2h1")
	require.NoError(t, err)
	assert.Equal(t, payments.Reference{Type: "order", ID: "672626", Suffix: "k3j2h1"}, parsed)
}

func TestParseReferenceRejects(t *testing.T) {
	for _, s := range []string{
		"", "order", "order:1", "order:1:abc:extra", ":1:abc", "order::abc", "order:1:",
		"Order:1:abc", "1order:1:abc", "order:1:ABC", "order:1 2:abc", "order:1:ab-c",
		"order:" + string(make([]byte, 200)) + ":abc",
	} {
		_, err := payments.ParseReference(s)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "%q", s)
	}
	_, err := payments.NewReference("order", "a:b")
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}
