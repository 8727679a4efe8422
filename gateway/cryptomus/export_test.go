package cryptomus

// ResignForTest returns body re-encoded as Cryptomus would send it and
// signed with key, when body is a JSON object whose PHP encoding is an
// object; otherwise body unchanged. Fuzz tests use it to get past the
// signature check.
func ResignForTest(body []byte, key string) []byte {
	doc, err := parseJSON(body)
	if err != nil || doc.kind != jsonObject {
		return body
	}
	rest := jsonValue{kind: jsonObject}
	for _, m := range doc.members {
		if m.key != "sign" {
			rest.members = append(rest.members, m)
		}
	}
	content, err := appendPHP(nil, rest)
	if err != nil || len(content) < 2 || content[0] != '{' {
		return body
	}
	return append(content[:len(content)-1:len(content)-1], []byte(`,"sign":"`+Sign(content, key)+`"}`)...)
}
