package cryptomus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reproduces what PHP does to a webhook body before Cryptomus
// signs it: json_decode($body, true), unset($data['sign']), then
// json_encode($data, JSON_UNESCAPED_UNICODE). A Go map cannot stand in for
// the PHP array: it loses key order, and encoding/json escapes differently.
// So the body is parsed into an order-preserving tree and re-encoded by
// PHP's rules:
//
//   - compact: no whitespace between tokens;
//   - strings: `"` `\` and `/` escaped (`\/`), \b \f \n \r \t, other control
//     characters as \u00xx, U+2028 and U+2029 as \u2028 and \u2029, every
//     other character raw UTF-8 (JSON_UNESCAPED_UNICODE); `<>&'` raw;
//   - integers in int64 range as decimal ("-0" becomes "0"); other numbers
//     as PHP doubles (serialize_precision -1: shortest round-trip digits,
//     exponent form below 1e-4 and from 1e17, no ".0" on whole values);
//   - objects: key order kept; an empty object, or one whose keys are
//     exactly "0", "1", … in order, becomes a JSON array, because PHP
//     decodes both into a list-shaped array.

// appendPHP appends v as PHP's json_encode($v, JSON_UNESCAPED_UNICODE)
// writes it after json_decode($json, true).
func appendPHP(dst []byte, v jsonValue) ([]byte, error) {
	switch v.kind {
	case jsonNull:
		return append(dst, "null"...), nil
	case jsonBool:
		return strconv.AppendBool(dst, v.boolean), nil
	case jsonNumber:
		return appendPHPNumber(dst, v.text)
	case jsonString:
		return appendPHPString(dst, v.text), nil
	case jsonArray:
		return appendPHPList(dst, v.items)
	}
	if isPHPList(v.members) {
		items := make([]jsonValue, len(v.members))
		for i, m := range v.members {
			items[i] = m.value
		}
		return appendPHPList(dst, items)
	}
	dst = append(dst, '{')
	for i, m := range v.members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPHPString(dst, m.key)
		dst = append(dst, ':')
		var err error
		if dst, err = appendPHP(dst, m.value); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

func appendPHPList(dst []byte, items []jsonValue) ([]byte, error) {
	dst = append(dst, '[')
	for i, item := range items {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendPHP(dst, item); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

// isPHPList reports whether PHP would encode an object's array as a JSON
// list: no members, or keys "0", "1", … in order. (PHP turns canonical
// integer keys into integers, so only those can make a list.)
func isPHPList(members []jsonMember) bool {
	for i, m := range members {
		if m.key != strconv.Itoa(i) {
			return false
		}
	}
	return true
}

func appendPHPString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	for _, r := range s {
		switch r {
		case '"', '\\', '/':
			dst = append(dst, '\\', byte(r))
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\u2028', '\u2029':
			dst = append(dst, `\u202`...)
			dst = append(dst, hexDigits[r&0xF])
		default:
			if r < 0x20 {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xF])
			} else {
				dst = utf8.AppendRune(dst, r)
			}
		}
	}
	return append(dst, '"')
}

// appendPHPNumber writes a number literal as PHP re-encodes it: an integer
// that fits int64 stays an integer, anything else is a double.
func appendPHPNumber(dst []byte, lit string) ([]byte, error) {
	if !strings.ContainsAny(lit, ".eE") {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return strconv.AppendInt(dst, n, 10), nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: number %s has no PHP encoding", errNotJSON, lit)
	}
	return append(dst, phpDouble(f)...), nil
}

// phpDouble formats f as PHP's json_encode does with serialize_precision
// -1: the shortest digits that round-trip, laid out by php_gcvt with
// precision 17.
func phpDouble(f float64) string {
	if f == 0 {
		if strconv.FormatFloat(f, 'g', -1, 64) == "-0" {
			return "-0"
		}
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	mantissa, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', -1, 64), "e")
	digits := strings.Replace(mantissa, ".", "", 1)
	e, _ := strconv.Atoi(exp)
	decpt := e + 1 // digits are 0.d1d2… × 10^decpt
	switch {
	case decpt < -3 || decpt > 17:
		rest := digits[1:]
		if rest == "" {
			rest = "0"
		}
		expSign := "+"
		if e < 0 {
			expSign, e = "-", -e
		}
		return sign + digits[:1] + "." + rest + "e" + expSign + strconv.Itoa(e)
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case len(digits) <= decpt:
		return sign + digits + strings.Repeat("0", decpt-len(digits))
	}
	return sign + digits[:decpt] + "." + digits[decpt:]
}

// signedContent splits a parsed webhook body into the bytes Cryptomus
// signed (the body without its top-level "sign", PHP-encoded) and the sign
// it carries.
func signedContent(doc jsonValue) (content []byte, sign string, err error) {
	if doc.kind != jsonObject {
		return nil, "", errors.New("the body is not a JSON object")
	}
	rest := jsonValue{kind: jsonObject, members: make([]jsonMember, 0, len(doc.members))}
	found := false
	for _, m := range doc.members {
		if m.key != "sign" {
			rest.members = append(rest.members, m)
			continue
		}
		if m.value.kind != jsonString {
			return nil, "", errors.New("the sign field is not a string")
		}
		sign, found = m.value.text, true
	}
	if !found || sign == "" {
		return nil, "", errors.New("the body has no sign field")
	}
	content, err = appendPHP(nil, rest)
	return content, sign, err
}
