#!/bin/sh
# Regenerates the callbacks signed with the tests' key and the m_params
# vectors, with coreutils and the OpenSSL command line rather than the
# driver's Go code (sh testdata/generate.sh, from the package directory).
# The tests never run it; they check the driver against what it wrote.
#
# Every input is ours (the key, shop, order ids and amounts below). The
# callbacks client libraries publish in their tests are not committed: the
# opt-in TestPublishedCallbacks reads them from $PAYMENTS_VECTORS/payeer
# (see README.md).
set -eu
cd "$(dirname "$0")"

KEY='test-secret-key-4f1e9a'   # Config.SecretKey in helpers_test.go
SHOP='987654321'               # Config.ShopID in helpers_test.go
PARAMS_KEY='test-params-key-77c2'

# enc form-encodes a value, as a browser or PHP's http_build_query does.
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]), end="")' "$1"; }

sign() { # m_sign = strtoupper(hash('sha256', implode(':', $fields + [$key])))
	printf '%s' "$1:$KEY" | sha256sum | cut -d' ' -f1 | tr 'a-f' 'A-F'
}

# urlencode as PHP does, for the characters base64 writes.
phpurlencode() { sed -e 's/+/%2B/g' -e 's/\//%2F/g' -e 's/=/%3D/g'; }

# callback OPID ORDERID AMOUNT CURR STATUS [M_PARAMS]: a form as Payeer posts
# it: the signed fields in Payeer's order, then m_sign, then fields Payeer
# adds without signing them. Dates and m_desc are shaped like the callbacks
# in client libraries' tests.
callback() {
	opid=$1 order=$2 amount=$3 curr=$4 status=$5
	ps=2609 date='01.02.2021 05:13:13' paydate='01.02.2021 05:13:19'
	desc=$(printf 'Payment %s' "$order" | base64 -w0)
	fields="$opid:$ps:$date:$paydate:$SHOP:$order:$amount:$curr:$desc:$status"
	if [ $# -ge 6 ]; then fields="$fields:$6"; fi
	s=$(sign "$fields")
	printf 'm_operation_id=%s&m_operation_ps=%s&m_operation_date=%s&m_operation_pay_date=%s' "$opid" "$ps" "$(enc "$date")" "$(enc "$paydate")"
	printf '&m_shop=%s&m_orderid=%s&m_amount=%s&m_curr=%s&m_desc=%s&m_status=%s' "$SHOP" "$order" "$amount" "$curr" "$(enc "$desc")" "$status"
	if [ $# -ge 6 ]; then printf '&m_params=%s' "$(enc "$6")"; fi
	printf '&m_sign=%s&summa_out=%s&transfer_id=1293284399&client_account=P1000001&client_email=client%%40example.com&lang=ru\n' "$s" "$amount"
}

callback 1293284312 pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4 25.00 USD success >callback_success.form
callback 1293284313 pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5 25.00 USD fail >callback_fail.form
callback 1293284314 shop-1001 10.50 RUB success >callback_foreign.form

# m_params: urlencode(base64(openssl_encrypt(json, 'AES-256-CBC',
# md5(params key . m_orderid), OPENSSL_RAW_DATA))) with PHP's empty IV,
# which OpenSSL pads with NULs.
mparams() { # ORDERID PLAINTEXT
	key=$(printf '%s' "$PARAMS_KEY$1" | md5sum | cut -d' ' -f1)
	keyhex=$(printf '%s' "$key" | od -An -tx1 | tr -d ' \n')
	printf '%s' "$2" | openssl enc -aes-256-cbc -K "$keyhex" -iv 00000000000000000000000000000000 | base64 -w0 | phpurlencode
}

order=pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6
json='{"success_url":"https://shop.example/return?order=1","fail_url":"https://shop.example/cancel","status_url":"https://shop.example/payeer-handleWebhookEvents"}'

# Payeer posts m_params back to the status URL as the JSON the shop
# encrypted (handlers read it with json_decode($_POST['m_params'])).
echoed='{"success_url":"https://shop.example/return","reference":{"account":"user-42","reference":"order:1001:k3j2h1"}}'
callback 1293284315 pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a6 25.00 USD success "$echoed" >callback_params.form

{
	printf '# params key\torder id\tplaintext\tm_params (openssl enc -aes-256-cbc, zero IV, base64, PHP urlencode)\n'
	for pair in "$order|$json" "1|{\"reference\":{\"var1\":\"1\"}}" "pay_x|" "12345|0123456789abcdef"; do
		o=${pair%%|*} p=${pair#*|}
		printf '%s\t%s\t%s\t%s\n' "$PARAMS_KEY" "$o" "$p" "$(mparams "$o" "$p")"
	done
} >mparams_vectors.tsv
