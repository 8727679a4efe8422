package rates

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// The namespaces of the ECB's files: a gesmes:Envelope holding, in the
// eurofxref vocabulary, a Cube of one Cube per day (time="2026-04-08") of
// one Cube per currency (currency="USD" rate="1.0842"), the rate being
// units of the currency per euro.
const (
	gesmesNamespace    = "http://www.gesmes.org/xml/2002-08-01"
	eurofxrefNamespace = "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"
)

// ecbTable is one day's reference rates: units of each currency per euro,
// as plain decimals without trailing zeros.
type ecbTable map[payments.Currency]string

// ecbFile is a parsed file: its days, and the first and last of them. The
// ECB's files list every day it published between their first and last.
type ecbFile struct {
	days        map[ecbDay]ecbTable
	first, last ecbDay
}

type ecbEnvelope struct {
	XMLName xml.Name `xml:"http://www.gesmes.org/xml/2002-08-01 Envelope"`
	Cube    []struct {
		Days []struct {
			Time  *string `xml:"time,attr"`
			Rates []struct {
				Currency *string `xml:"currency,attr"`
				Rate     *string `xml:"rate,attr"`
			} `xml:"http://www.ecb.int/vocabulary/2002-08-01/eurofxref Cube"`
		} `xml:"http://www.ecb.int/vocabulary/2002-08-01/eurofxref Cube"`
	} `xml:"http://www.ecb.int/vocabulary/2002-08-01/eurofxref Cube"`
}

// errMalformed marks a file that is not one the ECB publishes.
var errMalformed = errors.New("malformed ECB reference rates file")

// parseECB reads eurofxref-daily.xml, eurofxref-hist-90d.xml or
// eurofxref-hist.xml. It takes the whole file or nothing: a day without a
// date, a rate that is not a positive plain decimal, a currency that is
// not three capital letters or appears twice in a day, or a day listed
// twice fails the file, since a rate read from a damaged table would be
// recorded with every entry it prices.
func parseECB(data []byte) (ecbFile, error) {
	var env ecbEnvelope
	dec := xml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&env); err != nil {
		return ecbFile{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if len(env.Cube) != 1 {
		return ecbFile{}, fmt.Errorf("%w: %d outer Cube elements, want 1", errMalformed, len(env.Cube))
	}
	f := ecbFile{days: make(map[ecbDay]ecbTable, len(env.Cube[0].Days))}
	for _, d := range env.Cube[0].Days {
		if d.Time == nil {
			return ecbFile{}, fmt.Errorf("%w: a day without a time attribute", errMalformed)
		}
		day, err := time.Parse(time.DateOnly, *d.Time)
		if err != nil {
			return ecbFile{}, fmt.Errorf("%w: day %q: %v", errMalformed, *d.Time, err)
		}
		if _, dup := f.days[day]; dup {
			return ecbFile{}, fmt.Errorf("%w: day %s listed twice", errMalformed, *d.Time)
		}
		table := make(ecbTable, len(d.Rates))
		for _, r := range d.Rates {
			if r.Currency == nil || r.Rate == nil {
				return ecbFile{}, fmt.Errorf("%w: day %s: a rate without currency or rate attribute", errMalformed, *d.Time)
			}
			cur := payments.Currency(*r.Currency)
			if !isCurrencyCode(*r.Currency) || cur == "EUR" {
				return ecbFile{}, fmt.Errorf("%w: day %s: currency %q", errMalformed, *d.Time, *r.Currency)
			}
			if _, dup := table[cur]; dup {
				return ecbFile{}, fmt.Errorf("%w: day %s: %s listed twice", errMalformed, *d.Time, cur)
			}
			if _, err := parseDecimal(*r.Rate); err != nil {
				return ecbFile{}, fmt.Errorf("%w: day %s: %s rate %q", errMalformed, *d.Time, cur, *r.Rate)
			}
			table[cur] = canonicalDecimal(*r.Rate)
		}
		f.days[day] = table
		if f.first.IsZero() || day.Before(f.first) {
			f.first = day
		}
		if day.After(f.last) {
			f.last = day
		}
	}
	if len(f.days) == 0 {
		return ecbFile{}, fmt.Errorf("%w: no days", errMalformed)
	}
	return f, nil
}

func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// canonicalDecimal writes a plain decimal without leading or trailing
// zeros: the daily file writes "0.86340" where the history files write
// "0.8634", and a rate should read the same whichever file it came from.
func canonicalDecimal(s string) string {
	whole, frac, _ := strings.Cut(s, ".")
	whole = strings.TrimLeft(whole, "0")
	if whole == "" {
		whole = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return whole
	}
	return whole + "." + frac
}
