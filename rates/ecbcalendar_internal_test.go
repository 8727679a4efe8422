package rates

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestEasterSunday(t *testing.T) {
	for year, want := range map[int]time.Time{
		1999: date(1999, 4, 4), 2000: date(2000, 4, 23), 2008: date(2008, 3, 23), 2019: date(2019, 4, 21),
		2024: date(2024, 3, 31), 2025: date(2025, 4, 20), 2026: date(2026, 4, 5), 2038: date(2038, 4, 25),
	} {
		assert.Equal(t, want, easterSunday(year), year)
	}
}

func TestClosedDay(t *testing.T) {
	for _, tc := range []struct {
		day    time.Time
		closed bool
	}{
		{date(2026, 4, 3), true},    // Good Friday
		{date(2026, 4, 6), true},    // Easter Monday
		{date(2026, 4, 7), false},   // Tuesday
		{date(2026, 5, 1), true},    // Labour Day, a Friday
		{date(2025, 12, 24), false}, // TARGET is open on Christmas Eve
		{date(2025, 12, 25), true},
		{date(2025, 12, 26), true},
		{date(2025, 12, 31), false},
		{date(2026, 1, 1), true},
		{date(2026, 3, 28), true}, // Saturday
		{date(2026, 3, 29), true}, // Sunday
		{date(2026, 3, 30), false},
	} {
		assert.Equal(t, tc.closed, closedDay(tc.day), tc.day.Format(time.DateOnly))
	}
}

func TestFrankfurtTime(t *testing.T) {
	for _, tc := range []struct {
		utc  time.Time
		zone string
	}{
		{time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC), "CET"},
		{time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "CEST"},
		{time.Date(2026, 10, 25, 0, 59, 59, 0, time.UTC), "CEST"},
		{time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), "CET"},
		{time.Date(1999, 1, 4, 12, 0, 0, 0, time.UTC), "CET"},
	} {
		zone, _ := frankfurt(tc.utc).Zone()
		assert.Equal(t, tc.zone, zone, tc.utc)
	}
	assert.Equal(t, date(2026, 4, 8), dayOf(time.Date(2026, 4, 7, 22, 0, 0, 0, time.UTC)), "midnight in Frankfurt")
	assert.Equal(t, date(2026, 1, 8), dayOf(time.Date(2026, 1, 7, 23, 0, 0, 0, time.UTC)))
	assert.Equal(t, date(2026, 1, 7), dayOf(time.Date(2026, 1, 7, 22, 59, 0, 0, time.UTC)))
	assert.Equal(t, time.Date(2026, 1, 15, 13, 10, 0, 0, time.UTC), fixingTime(date(2026, 1, 15)))
	assert.Equal(t, time.Date(2026, 7, 15, 12, 10, 0, 0, time.UTC), fixingTime(date(2026, 7, 15)))
}
