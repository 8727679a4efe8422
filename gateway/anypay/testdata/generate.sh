#!/bin/sh
# Regenerates the notifications and sign vectors the tests check the driver
# against, with coreutils rather than the driver's Go code
# (sh testdata/generate.sh, from the package directory). The tests never
# run it.
set -eu
cd "$(dirname "$0")"

MERCHANT='1399'                         # Config.MerchantID in helpers_test.go
SECRET='NLmx0woAqrgHYnMbDSVLChCJ77R8adf' # Config.SecretKey in helpers_test.go

sha() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
md() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]), end="")' "$1"; }

# notification PAYID AMOUNT CURRENCY STATUS MD5|SHA: a form as Anypay posts
# it, the fields in the order client libraries list them, the sign last.
notification() {
	pay=$1 amount=$2 curr=$3 status=$4
	if [ "$5" = MD5 ]; then s=$(md "$MERCHANT:$amount:$pay:$SECRET"); else s=$(sha "$curr:$amount:$pay:$MERCHANT:$status:$SECRET"); fi
	printf 'merchant_id=%s&transaction_id=4950030&pay_id=%s&amount=%s&currency=%s&profit=%s&email=%s&method=card' \
		"$MERCHANT" "$pay" "$amount" "$curr" 95.00 "$(enc customer@example.com)"
	printf '&date=%s&pay_date=%s&status=%s&test=0&sign=%s\n' "$(enc '01.02.2024 10:00:00')" "$(enc '01.02.2024 10:01:30')" "$status" "$s"
}

notification pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4 100.00 RUB paid SHA >notification_paid.form
notification pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5 100.00 RUB paid MD5 >notification_paid_md5.form
notification pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6 100.00 RUB waiting SHA >notification_waiting.form
notification 12345 100.00 RUB paid SHA >notification_foreign.form

# Sign vectors over the inputs of the npm package anypay-node's examples
# (merchant 1399, its secret, pay_id 12345, 100.00 RUB).
{
	printf '# formula\tinput joined\tdigest (sha256sum / md5sum)\n'
	in="$MERCHANT:12345:100.00:RUB:Test ödeme:https://example.com/success:https://example.com/fail:$SECRET"
	printf 'form sha256\t%s\t%s\n' "$in" "$(sha "$in")"
	in="$MERCHANT:12345:100.00:RUB::::$SECRET"
	printf 'form sha256, no desc or URLs\t%s\t%s\n' "$in" "$(sha "$in")"
	in="RUB:100.00:$SECRET:$MERCHANT:12345"
	printf 'form md5\t%s\t%s\n' "$in" "$(md "$in")"
	in="RUB:100.00:12345:$MERCHANT:paid:$SECRET"
	printf 'notification sha256\t%s\t%s\n' "$in" "$(sha "$in")"
	in="$MERCHANT:100.00:12345:$SECRET"
	printf 'notification md5\t%s\t%s\n' "$in" "$(md "$in")"
	printf 'api balance\t%s\t%s\n' "balance12345api-key-0f3a" "$(sha balance12345api-key-0f3a)"
	printf 'api payments\t%s\t%s\n' "payments12345${MERCHANT}api-key-0f3a" "$(sha "payments12345${MERCHANT}api-key-0f3a")"
} >sign_vectors.tsv
