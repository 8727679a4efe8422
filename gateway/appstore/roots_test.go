package appstore_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/appstore"
)

// appleRootG3SHA256 is the SHA-256 fingerprint Apple publishes for Apple
// Root CA - G3 (https://www.apple.com/certificateauthority/), pinned: the
// embedded root must be exactly that certificate.
const appleRootG3SHA256 = "63343abfb89a6a03ebb57e9b3f5fa7be7c4f5c756f3017b3a8c488c3653e9179"

func TestAppleRootCAG3Pinned(t *testing.T) {
	root := appstore.AppleRootCAG3()
	sum := sha256.Sum256(root)
	assert.Equal(t, appleRootG3SHA256, hex.EncodeToString(sum[:]))
	cert, err := x509.ParseCertificate(root)
	require.NoError(t, err)
	assert.Equal(t, "Apple Root CA - G3", cert.Subject.CommonName)
	root[0] ^= 0xff // a copy: the embedded root stays as it is
	sum = sha256.Sum256(appstore.AppleRootCAG3())
	assert.Equal(t, appleRootG3SHA256, hex.EncodeToString(sum[:]))
}

// TestAppleRootCAG3IsGoIAPs: the embedded root is the one our dependency
// github.com/awa/go-iap ships (rootPEM in appstore/api/cert.go, which its
// own verifier trusts), read from the module's source as the build has it.
func TestAppleRootCAG3IsGoIAPs(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to locate github.com/awa/go-iap's source with")
	}
	out, err := exec.CommandContext(t.Context(), goCmd, "list", "-m", "-f", "{{.Dir}}", "github.com/awa/go-iap").Output()
	require.NoError(t, err, "go list -m github.com/awa/go-iap")
	moduleDir := strings.TrimSpace(string(out))
	require.NotEmpty(t, moduleDir, "github.com/awa/go-iap is not in the module cache")
	src, err := os.ReadFile(filepath.Join(moduleDir, "appstore", "api", "cert.go"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(src), "const rootPEM = `")
	require.True(t, ok, "go-iap's appstore/api/cert.go declares no rootPEM")
	rootPEM, _, ok := strings.Cut(rest, "`")
	require.True(t, ok)
	block, _ := pem.Decode([]byte(rootPEM))
	require.NotNil(t, block, "go-iap's rootPEM is not PEM")
	sum := sha256.Sum256(block.Bytes)
	assert.Equal(t, appleRootG3SHA256, hex.EncodeToString(sum[:]), "go-iap's root is the pinned Apple Root CA - G3")
	assert.Equal(t, block.Bytes, appstore.AppleRootCAG3(), "the embedded root is go-iap's, byte for byte")
}
