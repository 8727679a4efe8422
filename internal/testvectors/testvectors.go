// Package testvectors finds the test vectors the project does not commit.
//
// Files copied from other repositories — certificates, signed samples, SDK
// test resources, model JSON — are not in the repository. A test that
// checks a driver against them is opt-in: it reads them from the directory
// that the environment variable PAYMENTS_VECTORS names, one subdirectory
// per driver (appstore/, paypal/, payeer/), and is skipped when the
// variable is unset or a file is missing, in every mode, CI included: CI
// has no copy. Each driver's testdata/README.md says where every file
// comes from. Everything else the drivers' tests generate themselves, so
// that the verification logic keeps its full coverage without the
// vectors.
package testvectors

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EnvVar names the directory holding the vectors.
const EnvVar = "PAYMENTS_VECTORS"

// File is one vector file and where it was copied from.
type File struct {
	// Name is its path under the driver's subdirectory, slash-separated.
	Name string
	// Source is where it comes from: repository, commit and path.
	Source string
}

// Find returns the driver's subdirectory of $PAYMENTS_VECTORS and whether
// every file is in it; missing lists those that are not (all of them when
// the variable is unset).
func Find(driver string, files []File) (dir string, missing []File) {
	root := os.Getenv(EnvVar)
	if root == "" {
		return "", files
	}
	dir = filepath.Join(root, driver)
	for _, f := range files {
		if info, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Name))); err != nil || info.IsDir() {
			missing = append(missing, f)
		}
	}
	return dir, missing
}

// Dir returns the driver's subdirectory of $PAYMENTS_VECTORS when every
// file is there. Otherwise it skips t, never fails it, with a message that
// names the variable, what the test checks and where each missing file
// comes from.
func Dir(t testing.TB, driver, checks string, files []File) string {
	t.Helper()
	dir, missing := Find(driver, files)
	if len(missing) == 0 {
		return dir
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "opt-in test of %s; it runs when %s names a directory whose %s/ holds these files, copied from the repositories named (they are not committed):",
		checks, EnvVar, driver)
	for _, f := range missing {
		fmt.Fprintf(&msg, "\n\t%s/%s: %s", driver, f.Name, f.Source)
	}
	msg.WriteString("\n(the driver's testdata/README.md says more)")
	t.Skip(msg.String())
	return ""
}
