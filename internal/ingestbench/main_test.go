package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSizes(t *testing.T) {
	sizes, err := parseSizes("0, 10000000")
	require.NoError(t, err)
	assert.Equal(t, []int{0, 10000000}, sizes)
	for _, bad := range []string{"", "-1", "1e6", "0,0", "10,", "x"} {
		_, err := parseSizes(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestTargetKeysTellSizesApart(t *testing.T) {
	assert.Equal(t, "sqlite", (&target{name: "sqlite"}).key())
	assert.Equal(t, "sqlite@1000", (&target{name: "sqlite", prefill: 1000}).key())
	assert.Equal(t, ", stores at each size", prefillNote([]int{0, 1000}))
	assert.Equal(t, ", empty stores", prefillNote([]int{0}))
}
