package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
)

// objectivesAPI names the interface so that embedding it does not hide its
// Objectives method behind a field of that name.
type objectivesAPI = httpapi.Objectives

// relationshipsAPI does the same for the Relationships method of
// httpapi.Relationships.
type relationshipsAPI = httpapi.Relationships

// fullServer has every feature of the route table switched on, so that
// Routes lists every route the server can serve. Its dependencies are
// empty: only the table is read. A new feature field of Server gets a line
// here (the struct embedding its interface is enough).
func fullServer() *httpapi.Server {
	return &httpapi.Server{
		Audit:         &httpapi.Audit{},
		Subscriptions: struct{ httpapi.Subscriptions }{},
		Stream:        struct{ httpapi.ChangeStream }{},
		Objectives:    struct{ objectivesAPI }{},
		Reports:       struct{ httpapi.Reports }{},
		Access:        struct{ httpapi.AccessLog }{},
		Relationships: struct{ relationshipsAPI }{},
		ReviewOutputs: struct{ httpapi.ReviewOutputs }{},
		Reminders:     struct{ httpapi.Reminders }{},
		Sessions:      struct{ httpapi.ConsoleSessions }{},
		Imports:       struct{ httpapi.Imports }{},
	}
}

// tableOf converts the route table for the drift check.
func tableOf(routes []httpapi.RouteInfo) []openapitest.Route {
	out := make([]openapitest.Route, len(routes))
	for i, rt := range routes {
		out[i] = openapitest.Route{Method: rt.Method, Path: rt.Path}
	}
	return out
}

// TestOpenAPINoDrift fails when a route of the table is missing from
// openapi.json or openapi.json documents a route the table does not have,
// naming each one.
func TestOpenAPINoDrift(t *testing.T) {
	v := openapitest.MustLoad(t, httpapi.OpenAPI())
	routes := fullServer().Routes()
	if len(routes) < 72 {
		t.Fatalf("only %d routes: a feature of Server is not switched on in fullServer", len(routes))
	}
	for _, msg := range v.DriftErrors(tableOf(routes)) {
		t.Error(msg)
	}
}

// TestDriftErrorsNameTheRoute checks the drift check itself: a route added
// to the table without documentation, and a documented route taken out of
// the table, are each reported by method and path.
func TestDriftErrorsNameTheRoute(t *testing.T) {
	v := openapitest.MustLoad(t, httpapi.OpenAPI())
	routes := fullServer().Routes()
	var kept []openapitest.Route
	for _, rt := range tableOf(routes) {
		if !(rt.Method == "DELETE" && rt.Path == "/api/v1/tokens/{name}") {
			kept = append(kept, rt)
		}
	}
	kept = append(kept, openapitest.Route{Method: "POST", Path: "/api/v1/parties/{id}/merge"})
	errs := v.DriftErrors(kept)
	if len(errs) != 2 {
		t.Fatalf("got %d drift errors, want 2: %q", len(errs), errs)
	}
	got := strings.Join(errs, "\n")
	for _, want := range []string{`route POST /api/v1/parties/{id}/merge is in the route table but not in handlers/httpapi/openapi.json: add paths["/api/v1/parties/{id}/merge"].post`,
		`openapi.json documents DELETE /api/v1/tokens/{name}, which the route table does not have`} {
		if !strings.Contains(got, want) {
			t.Errorf("drift errors lack %q:\n%s", want, got)
		}
	}
}

// TestOpenAPIServedAndDocs checks GET /api/v1/openapi.json and /api/docs:
// no token needed, the document served as embedded, and the reference
// rendered with every route of the document and no external resource.
func TestOpenAPIServedAndDocs(t *testing.T) {
	v := openapitest.MustLoad(t, httpapi.OpenAPI())
	srv := httptest.NewServer(fullServer().Handler())
	defer srv.Close()
	c := v.Client(t)
	get := func(path string) (*http.Response, string) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/api/v1/openapi.json")
	if resp.StatusCode != 200 || body != string(httpapi.OpenAPI()) {
		t.Fatalf("openapi.json: %d, %d bytes (want the embedded %d)", resp.StatusCode, len(body), len(httpapi.OpenAPI()))
	}
	resp, body = get("/api/docs")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("docs: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, rt := range fullServer().Routes() {
		if !strings.Contains(body, "<code>"+rt.Method+" "+rt.Path+"</code>") {
			t.Errorf("docs do not show %s %s", rt.Method, rt.Path)
		}
	}
	for _, bad := range []string{"<script", `src="http`, `href="http`, "@import"} {
		if strings.Contains(body, bad) {
			t.Errorf("docs contain %q: nothing may be fetched from elsewhere", bad)
		}
	}
	for _, want := range []string{"Problem", "<code>rate_limited</code>", "GDPR Art. 32", "roles: editor, admin"} {
		if !strings.Contains(body, want) {
			t.Errorf("docs lack %q", want)
		}
	}
}

// TestValidatorCatchesMismatch checks that the validator can fail: a
// response whose body breaks the document, and a 2xx answer to a request
// the document refuses, are both reported.
func TestValidatorCatchesMismatch(t *testing.T) {
	v := openapitest.MustLoad(t, httpapi.OpenAPI())
	req := httptest.NewRequest("GET", "/api/v1/parties/x", nil)
	hdr := http.Header{"Content-Type": {"application/json"}, "Etag": {`"1"`}}
	if err := v.Check(req, nil, 200, hdr, []byte(`{"id":"x"}`)); err == nil {
		t.Error("a party without its required fields passed")
	}
	if err := v.Check(req, nil, 299, hdr, []byte(`{}`)); err == nil {
		t.Error("an undocumented status passed")
	}
	post := httptest.NewRequest("POST", "/api/v1/parties", nil)
	post.Header.Set("Content-Type", "application/json")
	body := []byte(`{"name":"A","color":"red"}`)
	if err := v.Check(post, body, 201, hdr, []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "refuses") {
		t.Errorf("a 201 to an unknown field passed: %v", err)
	}
	prob := http.Header{"Content-Type": {"application/problem+json"}}
	if err := v.Check(post, body, 400, prob, []byte(`{"type":"urn:partyledger:problem:invalid","title":"Bad Request","status":400,"code":"invalid"}`)); err != nil {
		t.Errorf("a refused bad request is fine: %v", err)
	}
}
