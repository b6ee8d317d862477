package main

import (
	"testing"

	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
)

// TestServedRoutesDocumented checks the route table as serve wires it, with
// every feature it starts, against the OpenAPI document: each route served
// is documented and each documented route is served.
func TestServedRoutesDocumented(t *testing.T) {
	s := MustRunServe(t, "")
	var table []openapitest.Route
	for _, rt := range s.Routes {
		table = append(table, openapitest.Route{Method: rt.Method, Path: rt.Path})
	}
	for _, msg := range openapitest.MustLoad(t, httpapi.OpenAPI()).DriftErrors(table) {
		t.Error(msg)
	}
}
