package testvectors

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	root := t.TempDir()
	files := []File{{Name: "certs/a.pem", Source: "owner/repo@0123 path/a.pem"}, {Name: "b.json", Source: "owner/repo@0123 b.json"}}
	write := func(name string) {
		path := filepath.Join(root, "driver", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// dir runs Dir in a subtest and reports what it returned, or that it
	// skipped.
	dir := func(t *testing.T) (got string, skipped bool) {
		t.Run("dir", func(t *testing.T) {
			defer func() { skipped = t.Skipped() }()
			got = Dir(t, "driver", "what the test checks", files)
		})
		return got, skipped
	}

	t.Setenv("CI", "true") // CI skips like any other run: it has no copy
	t.Setenv(EnvVar, "")
	if _, skipped := dir(t); !skipped {
		t.Error("ran with the variable unset")
	}
	t.Setenv(EnvVar, root)
	write("certs/a.pem")
	if _, skipped := dir(t); !skipped {
		t.Error("ran with b.json missing")
	}
	if _, missing := Find("driver", files); len(missing) != 1 || missing[0].Name != "b.json" {
		t.Errorf("missing = %v, want b.json alone", missing)
	}
	write("b.json")
	got, skipped := dir(t)
	if skipped || got != filepath.Join(root, "driver") {
		t.Errorf("Dir = %q, skipped %v; want %q", got, skipped, filepath.Join(root, "driver"))
	}
}
