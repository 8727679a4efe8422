package rates

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseECBFiles(t *testing.T) {
	for _, tc := range []struct {
		file        string
		days        int
		first, last string
	}{
		{"eurofxref-daily.xml", 1, "2026-04-08", "2026-04-08"},
		{"eurofxref-hist-90d.xml", 11, "2026-03-23", "2026-04-08"},
		{"eurofxref-hist.xml", 28, "2025-12-15", "2026-04-08"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			require.NoError(t, err)
			f, err := parseECB(b)
			require.NoError(t, err)
			assert.Len(t, f.days, tc.days)
			assert.Equal(t, tc.first, f.first.Format("2006-01-02"))
			assert.Equal(t, tc.last, f.last.Format("2006-01-02"))
			apr8 := f.days[f.last]
			assert.Equal(t, "1.0842", apr8["USD"])
			assert.Equal(t, "162.53", apr8["JPY"])
			assert.Equal(t, "0.8463", apr8["GBP"], "the daily file's 0.84630 and the history's 0.8463 read alike")
			assert.Len(t, apr8, 29)
		})
	}
}

func FuzzParseECB(f *testing.F) {
	for _, name := range []string{"eurofxref-daily.xml", "eurofxref-hist-90d.xml", "eurofxref-daily-2026-04-02.xml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref"><Cube><Cube time="2026-04-08"><Cube currency="USD" rate="01.08420"/></Cube></Cube></gesmes:Envelope>`))
	f.Add([]byte(`<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01"><Cube/></gesmes:Envelope>`))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><a/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parseECB(data)
		if err != nil {
			require.ErrorIs(t, err, errMalformed)
			return
		}
		require.NotEmpty(t, file.days)
		require.False(t, file.last.Before(file.first))
		for day, table := range file.days {
			require.False(t, day.Before(file.first) || day.After(file.last), day)
			for cur, rate := range table {
				require.True(t, isCurrencyCode(string(cur)) && cur != "EUR", cur)
				_, err := Quotient(rate, "1")
				require.NoError(t, err, "%s %s", cur, rate)
				require.Equal(t, rate, canonicalDecimal(rate))
			}
		}
	})
}
