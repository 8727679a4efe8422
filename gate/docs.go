package gate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
)

// The integration page (PathDocs) is rendered from the OpenAPI document,
// so that what a merchant's developer reads is what the gate serves and
// what its tests check: each operation with its parameters, body fields,
// answers and error codes, and the postback. Only the parts of OpenAPI the
// document uses are read: $ref to components, objects' properties, enums.

// docsPage is the view of the document the template renders.
type docsPage struct {
	Title, Version, Description, Server, Auth string
	Operations                                []docOperation
	Webhooks                                  []docOperation
	Errors                                    []docField
}

type docOperation struct {
	Method, Path, ID, Summary, Description string
	// Public is true for an operation that needs no token.
	Public    bool
	Params    []docField
	Body      []docField
	BodyType  string
	Responses []docResponse
}

type docField struct {
	Name, Type, Description string
	Required                bool
}

type docResponse struct {
	Code, Description, ContentType string
	Fields                         []docField
	Headers                        []docField
}

// OpenAPI's shapes, as far as the page reads them.
type (
	oaDoc struct {
		Info struct {
			Title, Version, Description string
		}
		Paths      map[string]map[string]json.RawMessage
		Webhooks   map[string]map[string]json.RawMessage
		Components struct {
			SecuritySchemes map[string]struct{ Description string }
			Responses       map[string]oaResponse
			Parameters      map[string]oaParam
			Headers         map[string]oaParam
			Schemas         map[string]*oaSchema
		}
	}
	oaOperation struct {
		OperationID string `json:"operationId"`
		Summary     string
		Description string
		Security    *[]json.RawMessage
		Parameters  []oaParam
		RequestBody *struct {
			Content map[string]struct{ Schema *oaSchema }
		} `json:"requestBody"`
		Responses map[string]oaResponse
	}
	oaParam struct {
		Ref         string `json:"$ref"`
		Name, In    string
		Description string
		Required    bool
		Schema      *oaSchema
	}
	oaResponse struct {
		Ref         string `json:"$ref"`
		Description string
		Headers     map[string]oaParam
		Content     map[string]struct{ Schema *oaSchema }
	}
	oaSchema struct {
		Ref              string `json:"$ref"`
		Type             any
		Format           string
		Description      string
		Required         []string
		Properties       orderedSchemas
		Items            *oaSchema
		Enum             []string
		Const            any
		Examples         []any
		EnumDescriptions map[string]string `json:"x-enumDescriptions"`
	}
)

// orderedSchemas keeps properties in the document's order, which is the
// order a reader expects (id first), where a map would sort them.
type orderedSchemas struct {
	names   []string
	schemas map[string]*oaSchema
}

func (o *orderedSchemas) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	o.schemas = map[string]*oaSchema{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var s oaSchema
		if err := dec.Decode(&s); err != nil {
			return err
		}
		o.names = append(o.names, name)
		o.schemas[name] = &s
	}
	return nil
}

var docMethods = []string{"get", "post", "put", "patch", "delete"}

// buildDocs reads the OpenAPI document into the page's view.
func buildDocs(raw []byte, server string) (*docsPage, error) {
	var doc oaDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("gate: OpenAPI document: %w", err)
	}
	page := &docsPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description, Server: server}
	for _, s := range doc.Components.SecuritySchemes {
		page.Auth = s.Description
	}
	ops := func(items map[string]map[string]json.RawMessage) ([]docOperation, error) {
		var out []docOperation
		for _, path := range sortedKeys(items) {
			for _, method := range docMethods {
				raw, ok := items[path][method]
				if !ok {
					continue
				}
				var op oaOperation
				if err := json.Unmarshal(raw, &op); err != nil {
					return nil, fmt.Errorf("gate: OpenAPI %s %s: %w", method, path, err)
				}
				out = append(out, doc.operation(strings.ToUpper(method), path, &op))
			}
		}
		return out, nil
	}
	var err error
	if page.Operations, err = ops(doc.Paths); err != nil {
		return nil, err
	}
	if page.Webhooks, err = ops(doc.Webhooks); err != nil {
		return nil, err
	}
	if e := doc.schema(doc.Components.Schemas["Error"]); e != nil && e.Properties.schemas["error"] != nil {
		if code := doc.schema(e.Properties.schemas["error"]).Properties.schemas["code"]; code != nil {
			for _, c := range code.Enum {
				page.Errors = append(page.Errors, docField{Name: c, Description: code.EnumDescriptions[c]})
			}
		}
	}
	return page, nil
}

func (d *oaDoc) operation(method, path string, op *oaOperation) docOperation {
	o := docOperation{Method: method, Path: path, ID: op.OperationID, Summary: op.Summary, Description: op.Description,
		Public: op.Security != nil && len(*op.Security) == 0}
	if o.ID == "" {
		o.ID = strings.Trim(path, "/") // a webhook's name
	}
	for _, p := range op.Parameters {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			p = d.Components.Parameters[name]
		}
		o.Params = append(o.Params, docField{Name: p.Name + " (" + p.In + ")", Type: typeOf(d.schema(p.Schema)),
			Description: p.Description, Required: p.Required})
	}
	if op.RequestBody != nil {
		for _, ct := range sortedKeys(op.RequestBody.Content) {
			o.BodyType = ct
			o.Body = d.fields(op.RequestBody.Content[ct].Schema)
		}
	}
	for _, code := range sortedKeys(op.Responses) {
		r := op.Responses[code]
		if name, ok := strings.CutPrefix(r.Ref, "#/components/responses/"); ok {
			r = d.Components.Responses[name]
		}
		resp := docResponse{Code: code, Description: r.Description}
		if code < "400" {
			for _, ct := range sortedKeys(r.Content) {
				resp.ContentType = ct
				resp.Fields = d.fields(r.Content[ct].Schema)
			}
		}
		for _, h := range sortedKeys(r.Headers) {
			hd := r.Headers[h]
			if name, ok := strings.CutPrefix(hd.Ref, "#/components/headers/"); ok {
				hd = d.Components.Headers[name]
			}
			resp.Headers = append(resp.Headers, docField{Name: h, Type: typeOf(d.schema(hd.Schema)), Description: hd.Description})
		}
		o.Responses = append(o.Responses, resp)
	}
	return o
}

// schema resolves a $ref to the components' schemas.
func (d *oaDoc) schema(s *oaSchema) *oaSchema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// fields lists an object's properties, and one level of nested objects as
// "parent.child", in the document's order.
func (d *oaDoc) fields(s *oaSchema) []docField {
	s = d.schema(s)
	if s == nil {
		return nil
	}
	var out []docField
	for _, name := range s.Properties.names {
		p := d.schema(s.Properties.schemas[name])
		f := docField{Name: name, Type: typeOf(p), Description: p.Description, Required: contains(s.Required, name)}
		if len(p.Enum) > 0 {
			f.Description = strings.TrimSpace(f.Description + " One of: " + strings.Join(p.Enum, ", ") + ".")
		}
		out = append(out, f)
		if p.Type == "object" && len(p.Properties.names) > 0 {
			for _, sub := range d.fields(p) {
				sub.Name = name + "." + sub.Name
				out = append(out, sub)
			}
		}
	}
	return out
}

func typeOf(s *oaSchema) string {
	if s == nil {
		return ""
	}
	if s.Const != nil {
		return fmt.Sprintf("%q", s.Const)
	}
	t, _ := s.Type.(string)
	if t == "array" && s.Items != nil {
		if name, ok := strings.CutPrefix(s.Items.Ref, "#/components/schemas/"); ok {
			return "array of " + name
		}
		return "array"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Examples) > 0 {
		t += fmt.Sprintf(", e.g. %v", s.Examples[0])
	}
	return t
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// docs serves the integration page; it holds no secrets and no merchant's
// data, so it is public and cacheable.
func (g *Gate) docs(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	if err := docsTemplate.Execute(&b, g.docsPage); err != nil {
		g.log.Error("gate: render docs", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'")
	_, _ = w.Write(b.Bytes())
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
code{background:#f3f3f3;padding:0 .2em}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}section{border-top:2px solid #eee;margin-top:2rem}
.method{font-weight:bold;color:#05a}</style></head><body>
<h1>{{.Title}} <small>v{{.Version}}</small></h1>
<p>{{.Description}}</p>
<p>Base URL: <code>{{.Server}}</code>. Authentication: {{.Auth}} The machine-readable document is at <a href="api/v1/openapi.json"><code>/api/v1/openapi.json</code></a>.</p>
<h2>Operations</h2>
<ul>{{range .Operations}}<li><a href="#{{.ID}}"><span class="method">{{.Method}}</span> <code>{{.Path}}</code></a> — {{.Summary}}</li>{{end}}</ul>
{{range .Operations}}{{template "operation" .}}{{end}}
<h2>Postbacks</h2>
{{range .Webhooks}}{{template "operation" .}}{{end}}
<h2 id="errors">Error codes</h2>
<p>Every refused request is answered <code>{"status":"error","error":{"code":…,"message":…,"field":…}}</code> and records nothing.</p>
<table><tr><th>code</th><th>meaning</th></tr>{{range .Errors}}<tr><td><code>{{.Name}}</code></td><td>{{.Description}}</td></tr>{{end}}</table>
</body></html>
{{define "fields"}}<table><tr><th>field</th><th>type</th><th>required</th><th>description</th></tr>
{{range .}}<tr><td><code>{{.Name}}</code></td><td>{{.Type}}</td><td>{{if .Required}}yes{{end}}</td><td>{{.Description}}</td></tr>
{{end}}</table>{{end}}
{{define "operation"}}<section id="{{.ID}}"><h3><span class="method">{{.Method}}</span> <code>{{.Path}}</code> — {{.Summary}}</h3>
{{if .Public}}<p>No token needed.</p>{{end}}
<p>{{.Description}}</p>
{{if .Params}}<h4>Parameters</h4>{{template "fields" .Params}}{{end}}
{{if .Body}}<h4>Body ({{.BodyType}})</h4>{{template "fields" .Body}}{{end}}
<h4>Answers</h4><ul>{{range .Responses}}<li><b>{{.Code}}</b> {{.Description}}{{if .ContentType}} <code>{{.ContentType}}</code>{{end}}
{{range .Headers}}<br>header <code>{{.Name}}</code>: {{.Description}}{{end}}
{{if .Fields}}{{template "fields" .Fields}}{{end}}</li>{{end}}</ul>
<p>Errors: see <a href="#errors">error codes</a>.</p></section>{{end}}
`))
