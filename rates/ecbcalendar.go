package rates

import "time"

// The ECB's days are Frankfurt days: its reference rates come from a
// concertation between central banks at about 14:10 CET and are published
// at about 16:00 CET on every TARGET business day
// (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html).

// ecbDay is a calendar day, as midnight UTC of that date.
type ecbDay = time.Time

// dayOf returns the Frankfurt calendar day of t.
func dayOf(t time.Time) ecbDay {
	y, m, d := frankfurt(t).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// fixingTime is when a day's reference rates were set: 14:10 Frankfurt
// time on that day.
func fixingTime(day ecbDay) time.Time {
	y, m, d := day.Date()
	noonUTC := time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	_, offset := frankfurt(noonUTC).Zone()
	return time.Date(y, m, d, 14, 10, 0, 0, time.UTC).Add(-time.Duration(offset) * time.Second)
}

// frankfurt returns t in Central European (Summer) Time by the EU's rule
// (Directive 2000/84/EC, in force for all of the ECB's history): summer
// time from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
// Sunday of October. It is computed, not read from the system's zone
// database, which a minimal container may lack.
func frankfurt(t time.Time) time.Time {
	u := t.UTC()
	start := lastSunday(u.Year(), time.March).Add(time.Hour)
	end := lastSunday(u.Year(), time.October).Add(time.Hour)
	if !u.Before(start) && u.Before(end) {
		return u.In(time.FixedZone("CEST", 2*60*60))
	}
	return u.In(time.FixedZone("CET", 60*60))
}

// lastSunday returns midnight UTC of the last Sunday of the month.
func lastSunday(year int, month time.Month) time.Time {
	last := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC)
	return last.AddDate(0, 0, -int(last.Weekday()))
}

// closedDay reports whether TARGET is closed on day, so that the ECB
// publishes no reference rates for it: Saturdays, Sundays, New Year's Day,
// Good Friday, Easter Monday, 1 May and 25 and 26 December, the calendar
// the ECB says its reference rates follow. A day it lists may be skipped
// without waiting for the ECB to publish a later one.
func closedDay(day ecbDay) bool {
	switch day.Weekday() {
	case time.Saturday, time.Sunday:
		return true
	}
	_, m, d := day.Date()
	switch {
	case m == time.January && d == 1, m == time.May && d == 1,
		m == time.December && (d == 25 || d == 26):
		return true
	}
	easter := easterSunday(day.Year())
	return day.Equal(easter.AddDate(0, 0, -2)) || day.Equal(easter.AddDate(0, 0, 1))
}

// easterSunday returns Easter Sunday of a Gregorian year (the anonymous
// Gregorian algorithm of Meeus, Jones and Butcher).
func easterSunday(year int) time.Time {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
}
