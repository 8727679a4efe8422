package payeer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// Sign returns m_sign: the upper-case hex SHA-256 of fields and then the
// secret key, joined by ':' —
// strtoupper(hash('sha256', implode(':', $arHash))) with the key last, as
// every Payeer module computes it, for the payment form and for the status
// callback alike (payeer/opencart catalog/controller/payment/payeer.php;
// payeer/prestashop payeer/controllers/front/status.php).
func Sign(secretKey string, fields ...string) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f))
		h.Write([]byte{':'})
	}
	h.Write([]byte(secretKey))
	return strings.ToUpper(hex.EncodeToString(h.Sum(nil)))
}

// formFields are the payment form's signed fields, in Payeer's order; the
// encrypted m_params follows them when it is sent.
var formFields = []string{"m_shop", "m_orderid", "m_amount", "m_curr", "m_desc"}

// statusFields are the status callback's signed fields, in Payeer's order
// (the array the handler hashes); m_params follows them when the callback
// carries it.
var statusFields = []string{
	"m_operation_id", "m_operation_ps", "m_operation_date", "m_operation_pay_date",
	"m_shop", "m_orderid", "m_amount", "m_curr", "m_desc", "m_status",
}

// CipherMethod is sent as m_cipher_method with an encrypted m_params, so
// that Payeer decrypts it as AES-256-CBC rather than the Rijndael-256 ECB
// of its older modules (mcrypt, removed from PHP 7.2).
const CipherMethod = "AES-256-CBC"

// EncryptParams returns m_params for order orderID: the value the form
// example of Payeer's merchant documentation builds (as integrations
// reproduce it verbatim) with
//
//	$key = md5($paramsKey . $m_orderid);
//	urlencode(base64_encode(openssl_encrypt(json_encode($arParams),
//	    'AES-256-CBC', $key, OPENSSL_RAW_DATA)))
//
// The key is the 32 hex digits of the MD5 as 32 bytes, an AES-256 key.
// openssl_encrypt is called without an IV, which PHP pads with NUL bytes,
// so the IV is 16 zero bytes: a fixed IV makes equal parameters encrypt
// alike, which is tolerable only because the key changes with every order
// and m_params holds URLs, not secrets. The padding is PKCS#7 (OpenSSL's).
// The result is URL-encoded once, as PHP's urlencode does, and that
// encoded string is both the field's value and what m_sign covers.
func EncryptParams(paramsKey, orderID string, plaintext []byte) string {
	block := paramsCipher(paramsKey, orderID)
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	// url.QueryEscape and PHP's urlencode agree on every character base64
	// writes: letters and digits stay, '+', '/' and '=' become %2B, %2F
	// and %3D.
	return url.QueryEscape(base64.StdEncoding.EncodeToString(buf))
}

// DecryptParams reverses EncryptParams, for an operator reading what a
// checkout sent or a callback echoes.
func DecryptParams(paramsKey, orderID, value string) ([]byte, error) {
	unescaped, err := url.QueryUnescape(value)
	if err != nil {
		return nil, fmt.Errorf("payeer: m_params is not URL-encoded: %w", err)
	}
	buf, err := base64.StdEncoding.DecodeString(unescaped)
	if err != nil {
		return nil, fmt.Errorf("payeer: m_params is not base64: %w", err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("payeer: m_params is not whole AES blocks")
	}
	cipher.NewCBCDecrypter(paramsCipher(paramsKey, orderID), make([]byte, aes.BlockSize)).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad == 0 || pad > aes.BlockSize {
		return nil, fmt.Errorf("payeer: m_params has bad padding (wrong key?)")
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("payeer: m_params has bad padding (wrong key?)")
		}
	}
	return buf[:len(buf)-pad], nil
}

func paramsCipher(paramsKey, orderID string) cipher.Block {
	sum := md5.Sum([]byte(paramsKey + orderID))
	block, err := aes.NewCipher([]byte(hex.EncodeToString(sum[:])))
	if err != nil {
		panic("payeer: a 32-byte key is an AES-256 key: " + err.Error())
	}
	return block
}
