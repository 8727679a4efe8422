// Package sqlmigrate reads the schema migrations the gate's SQL stores
// embed: files named NNNN_name.sql, applied in the order of their
// version number NNNN. Each store applies and records them itself, as
// its database locks and transactions differ.
package sqlmigrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migration is one step of a schema.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// String is the migration's file name without ".sql", "0001_init", as the
// stores name a step that failed.
func (m Migration) String() string { return fmt.Sprintf("%04d_%s", m.Version, m.Name) }

// Load reads the files of fsys that match pattern (fs.Glob), oldest
// version first. Its errors name no package: a store wraps them in its
// own name, which its messages start with.
func Load(fsys fs.FS, pattern string) ([]Migration, error) {
	files, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []Migration
	for _, f := range files {
		num, name, _ := strings.Cut(strings.TrimSuffix(path.Base(f), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: no version number", f)
		}
		body, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", f, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}
