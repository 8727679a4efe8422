package cursor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

func TestRoundTrip(t *testing.T) {
	for _, k := range []cursor.Key{
		{At: time.Date(2026, 12, 1, 15, 0, 0, 123456000, time.UTC), ID: "ent_1"},
		{At: time.Unix(0, 0).UTC(), ID: "epoch"},
		{At: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC), ID: "before the epoch"},
		{ID: "no time.with.dots"},
	} {
		got, err := cursor.Decode(cursor.Encode(k))
		require.NoError(t, err, k)
		assert.Equal(t, k, got)
	}
	seq, err := cursor.DecodeSeq(cursor.EncodeSeq(42))
	require.NoError(t, err)
	assert.Equal(t, int64(42), seq)
}

func TestForeignCursorsAreInvalidInput(t *testing.T) {
	for _, s := range []string{"", "x", "MQ", cursor.Encode(cursor.Key{})[:4] + "!", "Mi4tLmlk" /* version 2 */} {
		_, err := cursor.Decode(s)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "%q", s)
	}
	_, err := cursor.DecodeSeq(cursor.Encode(cursor.Key{At: time.Now(), ID: "7"}))
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "a time is not a sequence")
}
