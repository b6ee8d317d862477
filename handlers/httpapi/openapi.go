package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
)

// openAPIDocument is the OpenAPI 3.1 description of every route of the
// route table. It is kept by hand; the drift test (openapi_test.go) fails
// when a route of the table is missing from it or it names a route the
// table does not have, and the end-to-end tests validate their requests and
// responses against it (package openapitest). See docs/openapi.md for how to
// extend it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document of the API, as served at
// GET /api/v1/openapi.json. The caller must not modify the slice.
func OpenAPI() []byte { return openAPIDocument }

func (s *Server) apiDocRoutes() []route {
	return []route{
		{"GET", "/api/v1/openapi.json", "", s.handleOpenAPI},
		{"GET", "/api/docs", "", s.handleAPIDocs},
	}
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(openAPIDocument)
	return nil
}

// handleAPIDocs renders the human-readable reference from the document,
// server-side: no script, nothing fetched from elsewhere.
func (s *Server) handleAPIDocs(w http.ResponseWriter, r *http.Request) error {
	page, err := apiDocsPage()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(page)
	return nil
}

// apiDocsPage renders the reference once: the document is embedded, so the
// page never changes while the process runs.
var apiDocsPage = sync.OnceValues(func() ([]byte, error) {
	var d docModel
	if err := json.Unmarshal(openAPIDocument, &d); err != nil {
		return nil, fmt.Errorf("api docs: parse openapi.json: %w", err)
	}
	var b strings.Builder
	if err := docsTemplate.Execute(&b, d.view()); err != nil {
		return nil, fmt.Errorf("api docs: render: %w", err)
	}
	return []byte(b.String()), nil
})

// docModel is the part of an OpenAPI document the reference shows.
type docModel struct {
	Info struct {
		Title, Version, Summary, Description string
	}
	Paths      map[string]map[string]docOp `json:"paths"`
	Components struct {
		Schemas    map[string]docSchema `json:"schemas"`
		Parameters map[string]docParam  `json:"parameters"`
	} `json:"components"`
}

// docParam is a parameter, or a reference to a shared one.
type docParam struct {
	Ref                   string `json:"$ref"`
	Name, In, Description string
	Required              bool
	Schema                docSchema
}

type docOp struct {
	OperationID string `json:"operationId"`
	Summary     string
	Description string
	Tags        []string
	Parameters  []docParam
	RequestBody *struct {
		Required bool
		Content  map[string]struct{ Schema docSchema }
	} `json:"requestBody"`
	Responses map[string]struct {
		Ref         string `json:"$ref"`
		Description string
		Content     map[string]struct{ Schema docSchema }
	}
}

type docSchema struct {
	Ref         string               `json:"$ref"`
	Type        any                  `json:"type"`
	Enum        []any                `json:"enum"`
	Description string               `json:"description"`
	Required    []string             `json:"required"`
	Properties  map[string]docSchema `json:"properties"`
	Items       *docSchema           `json:"items"`
	Examples    []any                `json:"examples"`
}

// String renders a schema in one short line: a component's name, a type, an
// enum.
func (s docSchema) String() string {
	switch {
	case s.Ref != "":
		return strings.TrimPrefix(s.Ref, "#/components/schemas/")
	case len(s.Enum) > 0:
		var vs []string
		for _, v := range s.Enum {
			vs = append(vs, fmt.Sprint(v))
		}
		return strings.Join(vs, " | ")
	}
	t := fmt.Sprint(s.Type)
	if ts, ok := s.Type.([]any); ok {
		var parts []string
		for _, x := range ts {
			parts = append(parts, fmt.Sprint(x))
		}
		t = strings.Join(parts, " | ")
	}
	if s.Type == nil {
		t = "any"
	}
	if s.Items != nil {
		t = strings.Replace(t, "array", "array of "+s.Items.String(), 1)
	}
	return t
}

type docsView struct {
	Title, Version, Summary, Description string
	Ops                                  []docOpView
	Schemas                              []docSchemaView
}

type docOpView struct {
	Method, Path, Anchor string
	docOp
	Body      []docBody
	Responses []docResponse
}

type docBody struct {
	MediaType, Schema, Example string
}

type docResponse struct{ Status, Description, Schema string }

type docSchemaView struct {
	Name, Description, Example string
	Fields                     []docField
}

type docField struct {
	Name, Type, Description string
	Required                bool
}

var methodOrder = []string{"get", "post", "put", "patch", "delete"}

func (d docModel) view() docsView {
	v := docsView{Title: d.Info.Title, Version: d.Info.Version, Summary: d.Info.Summary, Description: d.Info.Description}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		for _, m := range methodOrder {
			op, ok := d.Paths[p][m]
			if !ok {
				continue
			}
			ov := docOpView{Method: strings.ToUpper(m), Path: p, Anchor: op.OperationID, docOp: op}
			ov.Parameters = slices.Clone(op.Parameters)
			for i, pm := range ov.Parameters {
				if pm.Ref != "" {
					ov.Parameters[i] = d.Components.Parameters[strings.TrimPrefix(pm.Ref, "#/components/parameters/")]
				}
			}
			if op.RequestBody != nil {
				for mt, c := range op.RequestBody.Content {
					ov.Body = append(ov.Body, docBody{MediaType: mt, Schema: c.Schema.String(), Example: example(c.Schema, d.Components.Schemas)})
				}
			}
			codes := make([]string, 0, len(op.Responses))
			for c := range op.Responses {
				codes = append(codes, c)
			}
			sort.Strings(codes)
			for _, c := range codes {
				rs := op.Responses[c]
				dr := docResponse{Status: c, Description: rs.Description}
				if rs.Ref != "" {
					dr.Description, dr.Schema = "problem details (application/problem+json)", "Problem"
				}
				var types []string
				for mt, ct := range rs.Content {
					types = append(types, mt+": "+ct.Schema.String())
				}
				slices.Sort(types)
				if len(types) > 0 {
					dr.Schema = strings.Join(types, "; ")
				}
				ov.Responses = append(ov.Responses, dr)
			}
			v.Ops = append(v.Ops, ov)
		}
	}
	names := make([]string, 0, len(d.Components.Schemas))
	for n := range d.Components.Schemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := d.Components.Schemas[n]
		sv := docSchemaView{Name: n, Description: s.Description, Example: example(s, nil)}
		if len(s.Properties) == 0 && (len(s.Enum) > 0 || s.Type != nil) {
			sv.Fields = append(sv.Fields, docField{Name: "(value)", Type: s.String()})
		}
		props := make([]string, 0, len(s.Properties))
		for p := range s.Properties {
			props = append(props, p)
		}
		sort.Strings(props)
		for _, p := range props {
			ps := s.Properties[p]
			sv.Fields = append(sv.Fields, docField{Name: p, Type: ps.String(), Description: ps.Description,
				Required: slices.Contains(s.Required, p)})
		}
		v.Schemas = append(v.Schemas, sv)
	}
	return v
}

// example returns the first example of s (or of the component it refers
// to), indented, or "".
func example(s docSchema, comps map[string]docSchema) string {
	if s.Ref != "" && comps != nil {
		s = comps[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	if len(s.Examples) == 0 {
		return ""
	}
	b, err := json.MarshalIndent(s.Examples[0], "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// codeSpanRE finds the `code` spans of the document's descriptions.
var codeSpanRE = regexp.MustCompile("`([^`]+)`")

// codeSpans escapes s and renders its `code` spans as <code>: the only
// Markdown the descriptions use.
func codeSpans(s string) template.HTML {
	return template.HTML(codeSpanRE.ReplaceAllString(html.EscapeString(s), "<code>$1</code>"))
}

var docsTemplate = template.Must(template.New("docs").Funcs(template.FuncMap{"md": codeSpans}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1b1b1b}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.5rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:4.5rem;font-weight:bold}section{border-top:1px solid #ccc;margin-top:1.5rem}
nav li{list-style:none}
</style></head><body>
<h1>{{.Title}} <small>v{{.Version}}</small></h1>
<p>{{.Summary}}</p><p>{{md .Description}}</p>
<p>The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).
Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<h2>Routes</h2>
<nav><ul>{{range .Ops}}<li><a href="#{{.Anchor}}"><code><span class="m">{{.Method}}</span>{{.Path}}</code></a> {{.Summary}}</li>
{{end}}</ul></nav>
{{range .Ops}}<section id="{{.Anchor}}">
<h3><code>{{.Method}} {{.Path}}</code></h3>
<p>{{.Summary}}</p><p>{{md .Description}}</p>
{{if .Parameters}}<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th></tr>
{{range .Parameters}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.In}}</td><td>{{.Schema}}</td><td>{{md .Description}}</td></tr>
{{end}}</table>{{end}}
{{range .Body}}<p>Request body ({{.MediaType}}): <a href="#schema-{{.Schema}}">{{.Schema}}</a></p>{{if .Example}}<pre>{{.Example}}</pre>{{end}}{{end}}
<table><tr><th>status</th><th>description</th><th>body</th></tr>
{{range .Responses}}<tr><td>{{.Status}}</td><td>{{md .Description}}</td><td>{{.Schema}}</td></tr>
{{end}}</table>
</section>
{{end}}
<h2>Schemas</h2>
{{range .Schemas}}<section id="schema-{{.Name}}"><h3>{{.Name}}</h3><p>{{md .Description}}</p>
<table><tr><th>field</th><th>type</th><th>description</th></tr>
{{range .Fields}}<tr><td><code>{{.Name}}</code>{{if .Required}} (required){{end}}</td><td>{{.Type}}</td><td>{{md .Description}}</td></tr>
{{end}}</table>{{if .Example}}<pre>{{.Example}}</pre>{{end}}</section>
{{end}}
</body></html>
`))
