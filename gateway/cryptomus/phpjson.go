package cryptomus

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file parses webhook bodies into an order-preserving tree for
// phpencode.go to re-encode as PHP would. The parser is stricter than
// encoding/json where PHP's json_decode is (invalid UTF-8, unpaired
// surrogate escapes, raw control characters) and also rejects duplicate
// keys, which PHP would silently merge, so that a verified body has exactly
// one meaning.

// maxJSONDepth bounds nesting. Cryptomus bodies are three levels deep; PHP's
// own limit is 512.
const maxJSONDepth = 64

var errNotJSON = errors.New("not valid JSON")

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is one parsed JSON value. text holds a string's decoded value
// or a number's literal; items an array's elements; members an object's
// members in their original order.
type jsonValue struct {
	kind    jsonKind
	boolean bool
	text    string
	items   []jsonValue
	members []jsonMember
}

type jsonMember struct {
	key   string
	value jsonValue
}

// member returns the value of key in an object.
func (v *jsonValue) member(key string) (jsonValue, bool) {
	for _, m := range v.members {
		if m.key == key {
			return m.value, true
		}
	}
	return jsonValue{}, false
}

// parseJSON parses one complete JSON document.
func parseJSON(data []byte) (jsonValue, error) {
	p := &jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return jsonValue{}, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return jsonValue{}, p.fail("data after the value")
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) fail(what string) error {
	return fmt.Errorf("%w: %s at byte %d", errNotJSON, what, p.pos)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (jsonValue, error) {
	if p.pos >= len(p.data) {
		return jsonValue{}, p.fail("unexpected end")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		return jsonValue{kind: jsonString, text: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		lit, err := p.number()
		return jsonValue{kind: jsonNumber, text: lit}, err
	case p.literal("true"):
		return jsonValue{kind: jsonBool, boolean: true}, nil
	case p.literal("false"):
		return jsonValue{kind: jsonBool}, nil
	case p.literal("null"):
		return jsonValue{kind: jsonNull}, nil
	}
	return jsonValue{}, p.fail("unexpected character")
}

func (p *jsonParser) literal(word string) bool {
	if strings.HasPrefix(string(p.data[p.pos:min(len(p.data), p.pos+len(word))]), word) {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (jsonValue, error) {
	if depth > maxJSONDepth {
		return jsonValue{}, p.fail("nested too deeply")
	}
	p.pos++ // '{'
	v := jsonValue{kind: jsonObject}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	seen := map[string]bool{}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return jsonValue{}, p.fail("expected a key")
		}
		key, err := p.str()
		if err != nil {
			return jsonValue{}, err
		}
		if seen[key] {
			return jsonValue{}, p.fail(fmt.Sprintf("duplicate key %q", key))
		}
		seen[key] = true
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return jsonValue{}, p.fail("expected ':'")
		}
		p.pos++
		p.skipSpace()
		val, err := p.value(depth)
		if err != nil {
			return jsonValue{}, err
		}
		v.members = append(v.members, jsonMember{key: key, value: val})
		if done, err := p.next('}'); done || err != nil {
			return v, err
		}
	}
}

func (p *jsonParser) array(depth int) (jsonValue, error) {
	if depth > maxJSONDepth {
		return jsonValue{}, p.fail("nested too deeply")
	}
	p.pos++ // '['
	v := jsonValue{kind: jsonArray}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	for {
		p.skipSpace()
		item, err := p.value(depth)
		if err != nil {
			return jsonValue{}, err
		}
		v.items = append(v.items, item)
		if done, err := p.next(']'); done || err != nil {
			return v, err
		}
	}
}

// next consumes the ',' between members or the closing bracket.
func (p *jsonParser) next(closing byte) (done bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, p.fail("unexpected end")
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.fail("expected ',' or '" + string(closing) + "'")
}

// number checks the JSON number grammar and returns the literal.
func (p *jsonParser) number() (string, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(p.data) && p.data[p.pos] == '0':
		p.pos++
	case !p.digits():
		return "", p.fail("malformed number")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if !p.digits() {
			return "", p.fail("malformed number")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if !p.digits() {
			return "", p.fail("malformed number")
		}
	}
	return string(p.data[start:p.pos]), nil
}

func (p *jsonParser) digits() bool {
	start := p.pos
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	return p.pos > start
}

// str decodes a string, rejecting what PHP's json_decode rejects: raw
// control characters, invalid UTF-8 and unpaired surrogate escapes.
func (p *jsonParser) str() (string, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for {
		if p.pos >= len(p.data) {
			return "", p.fail("unterminated string")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", p.fail("control character in string")
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size <= 1 {
				return "", p.fail("invalid UTF-8")
			}
			b.Write(p.data[p.pos : p.pos+size])
			p.pos += size
		}
	}
}

func (p *jsonParser) escape(b *strings.Builder) error {
	if p.pos+1 >= len(p.data) {
		return p.fail("unterminated escape")
	}
	c := p.data[p.pos+1]
	p.pos += 2
	// The short escapes and what they stand for, index for index.
	const short, meaning = `"\/bfnrt`, "\"\\/\b\f\n\r\t"
	if i := strings.IndexByte(short, c); i >= 0 {
		b.WriteByte(meaning[i])
		return nil
	}
	if c != 'u' {
		return p.fail("unknown escape")
	}
	r, err := p.hex4()
	if err != nil {
		return err
	}
	switch {
	case r >= 0xDC00 && r <= 0xDFFF:
		return p.fail("unpaired surrogate")
	case r >= 0xD800 && r <= 0xDBFF:
		if p.pos+1 >= len(p.data) || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
			return p.fail("unpaired surrogate")
		}
		p.pos += 2
		low, err := p.hex4()
		if err != nil {
			return err
		}
		if low < 0xDC00 || low > 0xDFFF {
			return p.fail("unpaired surrogate")
		}
		r = 0x10000 + (r-0xD800)<<10 + (low - 0xDC00)
	}
	b.WriteRune(r)
	return nil
}

func (p *jsonParser) hex4() (rune, error) {
	if p.pos+4 > len(p.data) {
		return 0, p.fail("short \\u escape")
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.fail("malformed \\u escape")
	}
	p.pos += 4
	return rune(n), nil
}
