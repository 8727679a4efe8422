package payments

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestIDsSortByIssueTime checks the property stores rely on for locality:
// an id issued in a later millisecond sorts after every earlier one, and
// ids issued together still differ.
func TestIDsSortByIssueTime(t *testing.T) {
	shape := regexp.MustCompile(`^pay_[0-9a-f]{32}$`)
	seen := map[string]bool{}
	prev := newID("pay")
	for range 5 {
		time.Sleep(2 * time.Millisecond)
		batch := make([]string, 100)
		for i := range batch {
			batch[i] = newID("pay")
			assert.Regexp(t, shape, batch[i])
			assert.False(t, seen[batch[i]], "repeated id %s", batch[i])
			seen[batch[i]] = true
		}
		for _, id := range batch {
			assert.Greater(t, id, prev, "an id from a later millisecond sorts later")
		}
		prev = batch[0]
		for _, id := range batch {
			prev = max(prev, id)
		}
	}
	ms := time.Now().UnixMilli()
	id := newID("ntf")
	issued, err := strconv.ParseInt(id[4:16], 16, 64)
	assert.NoError(t, err)
	assert.InDelta(t, ms, issued, 1000, "the id begins with its issue time")
}
