package anypay

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"strings"
)

// The formulas, each as Anypay's merchant modules and client libraries
// compute it (hash('sha256', implode(':', $arr_sign)) in PHP; lower-case
// hex). Sources, all agreeing:
//
//   - AMGewka/NamelessMC-Store-Gateway-ANYPAY (a store's Anypay gateway):
//     the link's SHA-256 with empty desc and URLs, the notification's
//     SHA-256 and the sender addresses;
//   - leonardjke/omnipay-anypay src/Message/PurchaseRequest.php and
//     NotificationRequest.php: both link formulas and both notification
//     formulas, chosen by the project's signature setting;
//   - nikitalm8/anypay (PyPI "anypay") anypay/api.py create_bill: both
//     link formulas, and the API's sign;
//   - FeeeeK/pyAnyPay pyanypay/api.py generate_sign and the npm package
//     anypay.io (DavidErbaev/anypay.io src/api/methods.js): the API's sign
//     and the MD5 link.

// FormSign is the payment link's sign under SHA-256:
// sha256(merchant_id:pay_id:amount:currency:desc:success_url:fail_url:secret),
// with "" for a desc or URL the link does not carry.
func FormSign(merchantID, payID, amount, currency, desc, successURL, failURL, secretKey string) string {
	return hexOf(sha256.New(), merchantID, payID, amount, currency, desc, successURL, failURL, secretKey)
}

// FormSignMD5 is the payment link's legacy sign:
// md5(currency:amount:secret:merchant_id:pay_id).
func FormSignMD5(currency, amount, secretKey, merchantID, payID string) string {
	return hexOf(md5.New(), currency, amount, secretKey, merchantID, payID)
}

// NotificationSign is a notification's sign under SHA-256:
// sha256(currency:amount:pay_id:merchant_id:status:secret), over the
// values exactly as the notification carries them.
func NotificationSign(currency, amount, payID, merchantID, status, secretKey string) string {
	return hexOf(sha256.New(), currency, amount, payID, merchantID, status, secretKey)
}

// NotificationSignMD5 is a notification's legacy sign:
// md5(merchant_id:amount:pay_id:secret). It covers neither the currency
// nor the status (see Config.SignMD5).
func NotificationSignMD5(merchantID, amount, payID, secretKey string) string {
	return hexOf(md5.New(), merchantID, amount, payID, secretKey)
}

// APISign is an API call's sign: sha256 of the method's name, the API id,
// the method's signed parameters and the API key, concatenated without
// separators (balance signs none; payments signs the project id).
func APISign(method, apiID string, params []string, apiKey string) string {
	h := sha256.New()
	h.Write([]byte(method + apiID + strings.Join(params, "") + apiKey))
	return hex.EncodeToString(h.Sum(nil))
}

// hexOf joins parts with ':' into h and returns the lower-case hex digest.
func hexOf(h hash.Hash, parts ...string) string {
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}
