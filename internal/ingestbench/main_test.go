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

func TestParseLevels(t *testing.T) {
	levels, err := parseLevels("32,128")
	require.NoError(t, err)
	assert.Equal(t, []int{32, 128}, levels)
	for _, bad := range []string{"0", "32,0", "-4", "32,32"} {
		_, err := parseLevels(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestBestLevelIsEachTargetsHighestMedian(t *testing.T) {
	sqlite, memory := &target{name: "sqlite"}, &target{name: "memory"}
	runs := func(rps ...float64) []result {
		rs := make([]result, len(rps))
		for i, r := range rps {
			rs[i].rps = r
		}
		return rs
	}
	byLevel := []map[string][]result{
		{"sqlite": runs(100, 900, 110), "memory": runs(500, 510, 520)},
		{"sqlite": runs(200, 190, 210), "memory": runs(400, 100, 450)},
	}
	peaks, best := bestLevels([]*target{sqlite, memory}, byLevel)
	// The median, not one lucky run, picks the level.
	assert.Equal(t, 1, best["sqlite"])
	assert.Equal(t, 0, best["memory"])
	assert.Equal(t, byLevel[1]["sqlite"], peaks["sqlite"])
	assert.Equal(t, byLevel[0]["memory"], peaks["memory"])
}
