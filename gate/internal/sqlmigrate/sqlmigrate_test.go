package sqlmigrate

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"migrations/0010_later.sql":  {Data: []byte("ALTER TABLE t ADD c int;")},
		"migrations/0002_second.sql": {Data: []byte("CREATE INDEX i ON t (a);")},
		"migrations/0001_init.sql":   {Data: []byte("CREATE TABLE t (a int);")},
		"migrations/README.md":       {Data: []byte("not a migration")},
	}
	got, err := Load(fsys, "migrations/*.sql")
	require.NoError(t, err)
	assert.Equal(t, []Migration{
		{Version: 1, Name: "init", SQL: "CREATE TABLE t (a int);"},
		{Version: 2, Name: "second", SQL: "CREATE INDEX i ON t (a);"},
		{Version: 10, Name: "later", SQL: "ALTER TABLE t ADD c int;"},
	}, got)
	assert.Equal(t, "0010_later", got[2].String())
}

func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, pattern, want string
		fsys                fstest.MapFS
	}{
		{"no version number", "migrations/*.sql", "migration migrations/init.sql: no version number",
			fstest.MapFS{"migrations/init.sql": {}}},
		{"bad pattern", "migrations/[", "migrations: syntax error in pattern", fstest.MapFS{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.fsys, tc.pattern)
			assert.EqualError(t, err, tc.want)
		})
	}
}

func TestLoadNone(t *testing.T) {
	got, err := Load(fstest.MapFS{}, "migrations/*.sql")
	require.NoError(t, err)
	assert.Empty(t, got)
}
