#!/bin/sh
# Regenerates the App Store Server API key the tests and ExampleNew sign
# their API requests with (sh testdata/generate.sh, from the package
# directory): a fresh ECDSA P-256 key in PKCS#8 PEM, as App Store Connect
# hands out AuthKey_<key id>.p8 files. It is the tests' own key, for no
# account; the key id 2X9R4HXF34 is made up (keyID in fakeapi_test.go).
# The tests never run this script.
set -eu
cd "$(dirname "$0")"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out AuthKey_2X9R4HXF34.p8
