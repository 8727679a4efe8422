package cryptomus

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPHPVectors checks the re-encoder against what PHP itself wrote for
// json_encode(json_decode($in, true), JSON_UNESCAPED_UNICODE), recorded by
// testdata/generate.php: key order, slash and control escaping, raw
// non-ASCII, U+2028/9, integer and double formatting, empty and list-shaped
// objects, and the inputs PHP refuses.
func TestPHPVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/php_vectors.json")
	require.NoError(t, err)
	var vectors []struct {
		In  string  `json:"in"`
		PHP *string `json:"php"`
	}
	require.NoError(t, json.Unmarshal(raw, &vectors))
	require.NotEmpty(t, vectors)
	for _, v := range vectors {
		in, err := base64.StdEncoding.DecodeString(v.In)
		require.NoError(t, err)
		t.Run(string(in), func(t *testing.T) {
			got, err := encodeAsPHP(in)
			if v.PHP == nil {
				assert.Error(t, err, "PHP refuses this input; got %s", got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, *v.PHP, string(got))
		})
	}
}

func encodeAsPHP(in []byte) ([]byte, error) {
	doc, err := parseJSON(in)
	if err != nil {
		return nil, err
	}
	return appendPHP(nil, doc)
}

func TestParseJSONRejects(t *testing.T) {
	for _, in := range []string{
		``, ` `, `{`, `{"a":1`, `{"a":1}}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":1}}`,
		`"\u"`, `"\ud83d\u0041"`, `"\ud83d"`, `"abc`, "\"a\x00b\"",
		strings.Repeat("[", maxJSONDepth+1) + strings.Repeat("]", maxJSONDepth+1),
		`-`, `01`, `1.e5`, `--1`, `nul`, `truex`,
	} {
		_, err := parseJSON([]byte(in))
		assert.ErrorIs(t, err, errNotJSON, "%q", in)
	}
	_, err := parseJSON([]byte(strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth)))
	assert.NoError(t, err, "nesting up to the limit is accepted")
}

func TestPHPDouble(t *testing.T) {
	// Values checked with php -r 'echo json_encode(VALUE);'.
	for f, want := range map[float64]string{
		1: "1", 1.5: "1.5", 100: "100", 1e25: "1.0e+25", 0.1: "0.1", 1.5e-7: "1.5e-7",
		0.0001: "0.0001", 0.00001: "1.0e-5", 1e16: "10000000000000000", 1e17: "1.0e+17",
		-2.5: "-2.5", 123456.789: "123456.789", 9.223372036854776e18: "9.223372036854776e+18",
	} {
		assert.Equal(t, want, phpDouble(f), "%v", f)
	}
}
