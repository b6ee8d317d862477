package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
	"github.com/partyledger/partyledger/projections"
)

// failingReads is a read model whose every query fails with an error full of
// internals, to check that none of it reaches a client.
type failingReads struct{ ReadModel }

var internalErr = errors.New(`sqlite: SELECT hash FROM tokens WHERE name = 'admin': disk I/O error in /var/lib/partyledger/x.db goroutine 7 [running]`)

func (failingReads) Party(context.Context, string) (projections.PartyView, error) {
	return projections.PartyView{}, internalErr
}
func (failingReads) Parties(context.Context, projections.PartyFilter) ([]projections.PartyView, error) {
	return nil, internalErr
}
func (failingReads) EachParty(context.Context, projections.PartyFilter, projections.Page, func(projections.PartyView) error) (projections.Cursor, error) {
	return projections.Cursor{}, internalErr
}

// oneToken authenticates a single secret as an admin.
type oneToken struct{ Tokens }

func (oneToken) Authenticate(_ context.Context, s string) (auth.Token, error) {
	if s == "plt_test" {
		return auth.Token{Name: "t", Role: auth.RoleAdmin}, nil
	}
	return auth.Token{}, auth.ErrUnauthenticated
}

func TestInternalErrorsStayInside(t *testing.T) {
	var logs strings.Builder
	s := &Server{Reads: failingReads{}, Tokens: oneToken{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	client := openapitest.MustLoad(t, OpenAPI()).Client(t) // the 500 answers are documented problems too
	for _, path := range []string{"/api/v1/parties", "/api/v1/parties/0190f1a2-0000-7000-8000-000000000000"} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer plt_test")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, leak := range []string{"SELECT", "sqlite", "/var/lib", "goroutine", "tokens", "disk"} {
			if strings.Contains(string(body), leak) {
				t.Fatalf("%s: 500 body leaks %q: %s", path, leak, body)
			}
		}
	}
	if !strings.Contains(logs.String(), "disk I/O error") {
		t.Fatalf("the internal error was not logged for operators:\n%s", logs.String())
	}
}
