// Package openapitest checks the API against its OpenAPI document
// (httpapi.OpenAPI) in tests: [Validator.Transport] validates every request
// a test client makes and every response it gets, and
// [Validator.DriftErrors] compares the document with the route table. It
// does not import httpapi, so httpapi's own tests can use it.
//
// The validator is kin-openapi's openapi3filter. The document declares
// OpenAPI 3.1.0: kin-openapi v0.153.0 loads 3.1 documents and, for them,
// validates bodies and parameters with its JSON Schema 2020-12 validator, so
// 3.1 forms such as `"type": ["string", "null"]` and `const` are enforced
// (3.0's `nullable` would be ignored there, so the document does not use it).
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Validator validates requests and responses against the document. It is
// safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// loaded caches the validator of each document (by content): loading and
// validating the document takes a while, and tests ask for it often.
var loaded sync.Map // string(doc) -> *Validator

func load(raw []byte) (*Validator, error) {
	if v, ok := loaded.Load(string(raw)); ok {
		return v.(*Validator), nil
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json: invalid document: %w", err)
	}
	// Paths are absolute (/api/v1/...); match them on the request path
	// whatever host and port the test server has.
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.json: router: %w", err)
	}
	v := &Validator{doc: doc, router: router}
	loaded.Store(string(raw), v)
	return v, nil
}

// MustLoad returns the validator of doc (httpapi.OpenAPI()), failing the
// test if the document does not load or is not valid OpenAPI.
func MustLoad(tb testing.TB, doc []byte) *Validator {
	tb.Helper()
	v, err := load(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Check validates one exchange: the request (with its body) and the
// response (with its body). A request the document refuses is an error
// only if the server accepted it (2xx): a test may send bad input on purpose
// to see it refused. A response is always checked, and a status the
// operation does not document is an error.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, hdr http.Header, respBody []byte) error {
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(r)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil // the server agrees there is no such route
		}
		return fmt.Errorf("%s %s: not in openapi.json (%v) but the server answered %d", req.Method, req.URL.Path, err, status)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && status < 300 {
		return fmt.Errorf("%s %s: the server answered %d to a request openapi.json refuses: %v", req.Method, req.URL.Path, status, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: hdr, Options: opts}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("%s %s: response %d does not match openapi.json: %v\nbody: %.600s", req.Method, req.URL.Path, status, err, respBody)
	}
	return nil
}

// Transport returns a RoundTripper that sends through base
// (http.DefaultTransport when nil) and reports every exchange that does not
// match the document with tb.Errorf. Streamed responses (text/event-stream)
// have their status and headers checked, not their body, which stays
// unread for the caller.
func (v *Validator) Transport(tb testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{v: v, tb: tb, base: base}
}

type roundTripper struct {
	v    *Validator
	tb   testing.TB
	base http.RoundTripper
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	var respBody []byte
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		respBody, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
	}
	if err := t.v.Check(req, reqBody, resp.StatusCode, resp.Header, respBody); err != nil {
		t.tb.Errorf("openapi: %v", err)
	}
	return resp, nil
}

// Client returns an HTTP client whose every exchange is validated (see
// [Validator.Transport]).
func (v *Validator) Client(tb testing.TB) *http.Client {
	return &http.Client{Transport: v.Transport(tb, nil)}
}

// Route is one entry of the route table: a method and a ServeMux pattern
// path such as /api/v1/parties/{id}.
type Route struct{ Method, Path string }

// DriftErrors compares the route table with the document and returns one
// message per difference, sorted: a route of the table the document does
// not describe, or an operation of the document the table does not have.
func (v *Validator) DriftErrors(routes []Route) []string {
	inTable := map[string]bool{}
	var errs []string
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		inTable[key] = true
		item := v.doc.Paths.Value(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			errs = append(errs, fmt.Sprintf("route %s is in the route table but not in handlers/httpapi/openapi.json: add paths[%q].%s (see docs/openapi.md)",
				key, rt.Path, strings.ToLower(rt.Method)))
		}
	}
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			if key := method + " " + path; !inTable[key] {
				errs = append(errs, fmt.Sprintf("openapi.json documents %s, which the route table does not have: remove paths[%q].%s or add the route",
					key, path, strings.ToLower(method)))
			}
		}
	}
	sort.Strings(errs)
	return slices.Compact(errs)
}
