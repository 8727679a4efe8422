package payments

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBackoffIsExponentialJitteredAndCapped(t *testing.T) {
	o := SyncOptions{BaseDelay: time.Second, MaxDelay: time.Minute}.withDefaults()
	for attempts, nominal := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 6: 32 * time.Second, 7: time.Minute, 60: time.Minute} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := o.backoff(attempts)
			assert.GreaterOrEqual(t, d, nominal/2, "attempt %d", attempts)
			assert.LessOrEqual(t, d, nominal, "attempt %d", attempts)
			seen[d] = true
		}
		assert.Greater(t, len(seen), 100, "attempt %d: jitter spreads retries", attempts)
	}
}
