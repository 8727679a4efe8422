<?php
// Regenerates the webhook fixtures and php_vectors.json the way Cryptomus's
// PHP side writes them:  php testdata/generate.php  (from the package
// directory). The tests never run PHP; they check the Go code against what
// this script wrote.

const PAYMENT_KEY = 'test-payment-key-5f2b9c';
const PAYOUT_KEY = 'test-payout-key-8d41e7';
$dir = __DIR__;

// A webhook as Cryptomus sends it: sign = md5(base64(json_encode(data)) . key),
// then the data with sign appended, encoded again.
function webhook(array $data, string $key): string {
    $data['sign'] = md5(base64_encode(json_encode($data, JSON_UNESCAPED_UNICODE)) . $key);
    return json_encode($data, JSON_UNESCAPED_UNICODE);
}

$additional = json_encode([
    'account' => 'user-42',
    'reference' => 'order:1001:k3j2h1',
    'note' => 'Оплата заказа №1001 — https://shop.example/orders/1001?a=1&b=<2>',
], JSON_UNESCAPED_UNICODE);

// Shaped like the sample on https://doc.cryptomus.com/business/payments/webhook.
$paid = [
    'type' => 'payment',
    'uuid' => '62f88b36-a9d5-4fa6-aa26-e040c3dbf26d',
    'order_id' => 'pay_4f1c2a9b8e7d6c5b4a392817',
    'amount' => '15.00',
    'payment_amount' => '196.07843137',
    'payment_amount_usd' => '15.00',
    'merchant_amount' => '192.15686274',
    'commission' => '3.92156863',
    'is_final' => true,
    'status' => 'paid',
    'from' => 'THgEWubVc8tPKXLJ4VZ5zbiiAK7AgqSeGH',
    'wallet_address_uuid' => null,
    'network' => 'tron',
    'currency' => 'USD',
    'payer_currency' => 'TRX',
    'payer_amount' => '196.07843137',
    'payer_amount_exchange_rate' => '0.07650000',
    'transfer_id' => null,
    'additional_data' => $additional,
    'convert' => ['to_currency' => 'USDT', 'commission' => null, 'rate' => '0.07700000', 'amount' => '14.79607843'],
    'txid' => '6f0d9c8374db57cac0d806251473de754f361c83a03cd805f74aa9da3193486b',
];
$fixtures = ['paid' => [$paid, PAYMENT_KEY]];

$over = array_merge($paid, [
    'uuid' => 'a1b2c3d4-0000-4000-8000-00000000f00d', 'order_id' => 'pay_0123456789abcdef01234567',
    'amount' => '3.00000000', 'currency' => 'TRX', 'payer_currency' => 'TRX',
    'payment_amount' => '3.50000000', 'payer_amount' => '3.00000000', 'payment_amount_usd' => '0.27',
    'merchant_amount' => '3.43000000', 'commission' => '0.07000000', 'status' => 'paid_over',
]);
unset($over['convert']);
$fixtures['paid_over'] = [$over, PAYMENT_KEY];

$fixtures['refund_paid'] = [array_merge($paid, ['status' => 'refund_paid']), PAYMENT_KEY];

$fixtures['check'] = [array_merge($paid, [
    'status' => 'check', 'is_final' => false, 'payment_amount' => null, 'payment_amount_usd' => '0.00',
    'merchant_amount' => null, 'commission' => null, 'from' => null, 'payer_currency' => null,
]), PAYMENT_KEY];
unset($fixtures['check'][0]['txid'], $fixtures['check'][0]['convert']);

// Not created through the library: an order id of the host's own and
// additional_data that is not the driver's.
$fixtures['cancel_foreign'] = [array_merge($paid, [
    'uuid' => '0d7f9b2e-5c41-4e8a-9a63-2b1f0e4c7d55', 'order_id' => 'shop-order-77',
    'status' => 'cancel', 'is_final' => true, 'additional_data' => 'Заказ 77 / склад "Б"',
]), PAYMENT_KEY];

$fixtures['payout'] = [[
    'type' => 'payout', 'uuid' => '2b852d86-6aa2-4a0e-9d5c-6b4c5f0a3c11', 'order_id' => '129359',
    'amount' => '207.00000000', 'merchant_amount' => '207.30000000', 'commission' => '0.30000000',
    'is_final' => true, 'status' => 'paid', 'txid' => '0xcf8', 'currency' => 'USDT', 'network' => 'bsc',
    'payer_currency' => 'USDT', 'payer_amount' => '207.00000000',
], PAYOUT_KEY];

foreach ($fixtures as $name => [$data, $key]) {
    file_put_contents("$dir/webhook_$name.json", webhook($data, $key) . "\n");
}
// The same paid webhook pretty-printed and with unescaped slashes: other
// bytes, same content, same sign.
$pretty = json_decode(webhook($paid, PAYMENT_KEY), true);
file_put_contents("$dir/webhook_paid_pretty.json",
    json_encode($pretty, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n");

// What json_encode(json_decode($in, true), JSON_UNESCAPED_UNICODE) writes,
// or null where json_decode refuses the input.
$inputs = [
    '{"a":"b"}', ' { "a" : [ 1 , true , false , null ] } ', '{"url":"https://x.example/a/b?c=d&e=<f>"}',
    '{"url":"https:\/\/x.example\/a"}', '{"s":"\u00e9 é \u0416 Ж 😀 \ud83d\ude00"}',
    '{"s":"\u2028\u2029 raw:' . "\u{2028}\u{2029}" . '"}', '{"s":"\" \\\\ \/ \b \f \n \r \t \u0001 \u001f \u007f \u0000"}',
    '{"s":"<>&\'"}', '{"\u0000k":"v","k\/":"v"}', '{"n":0,"m":-0,"i":123,"j":-9223372036854775808,"k":9223372036854775807}',
    '{"big":9223372036854775808,"bigger":12345678901234567890,"neg":-9223372036854775809}',
    '{"f":1.0,"g":1.50,"h":-2.5,"i":1e2,"j":1E+2,"k":1e-2,"l":0.1,"m":0.0001,"n":0.00001,"o":1.5e-7}',
    '{"f":1e16,"g":1e17,"h":123456789012345678,"i":1.7976931348623157e308,"j":5e-324,"k":0.0,"l":-0.0}',
    '{"f":100000000000000000000.5,"g":3.14159265358979323846,"h":2.2250738585072014e-308,"i":1e-400,"j":-1e-400}',
    '{"f":0.30000000000000004,"g":123.456e3,"h":1e21,"i":12345678901234567,"j":1234567890123456.7}',
    '{}', '{"a":{}}', '{"a":[]}', '{"a":[{}]}', '{"0":"x","1":"y"}', '{"1":"x","0":"y"}', '{"0":"x","2":"y"}',
    '{"a":{"0":"x","1":"y"}}', '{"a":[1,2,{"0":1}]}', '{"-0":1,"00":2,"01":3,"1.0":4}', '{"0":"a","01":"b"}',
    '{"a":{"b":{"c":{"d":[[[null]]]}}}}', '{"type":"payment","additional_data":"{\"a\":\"b\/c\"}"}',
    // refused by json_decode
    '{"s":"\ud800"}', '{"s":"\udc00"}', '{"s":"\ud800\u0041"}', "{\"s\":\"\xff\"}", "{\"s\":\"\xed\xa0\x80\"}",
    "{\"s\":\"a\tb\"}", '{"a":01}', '{"a":1.}', '{"a":.5}', '{"a":+1}', '{"a":1e}', '{"a":"\x"}', '{"a":tru}',
    '{"a":1,}', '[1,]', '{"a" 1}', "{'a':1}", '{"a":NaN}', '{"a":1e400}', '{"a":"\u12"}', '{"a":1} x',
];
$vectors = [];
foreach ($inputs as $in) {
    $decoded = json_decode($in, true);
    $out = json_last_error() === JSON_ERROR_NONE ? json_encode($decoded, JSON_UNESCAPED_UNICODE) : null;
    $vectors[] = ['in' => base64_encode($in), 'php' => $out === false ? null : $out];
}
file_put_contents("$dir/php_vectors.json", json_encode($vectors, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n");
