package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/client"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
	"github.com/partyledger/partyledger/projections"
)

// MustServe runs the real API (SQLite store, read model, command service,
// tokens) on a loopback port and returns its root URL and an editor token.
func MustServe(tb testing.TB) (string, string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := tb.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := sqlite.Open(ctx, filepath.Join(dir, "pl.db"), sqlite.Options{Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	tdb, err := sqlite.OpenDB(filepath.Join(dir, "pl.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tokens, err := auth.NewTokens(ctx, tdb)
	if err != nil {
		tb.Fatal(err)
	}
	rdb, err := sqlite.OpenDB(filepath.Join(dir, "rm.db"))
	if err != nil {
		tb.Fatal(err)
	}
	reads, err := projections.Open(ctx, rdb, store, logger)
	if err != nil {
		tb.Fatal(err)
	}
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = reads.Run(ctx) }()
	secret, _, err := tokens.Create(ctx, "ed", auth.RoleEditor, nil)
	if err != nil {
		tb.Fatal(err)
	}
	api := &httpapi.Server{Commands: &commands.Service{Store: store, Reads: reads}, Reads: reads,
		Tokens: tokens, Log: store, Logger: logger, Limits: httpapi.DefaultLimits}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
		<-runDone
		rdb.Close()
		tdb.Close()
		store.Close()
	})
	return "http://" + ln.Addr().String(), secret
}

// mustClient returns a client of a fresh server whose every exchange is
// validated against the OpenAPI document.
func mustClient(t *testing.T, root string) *client.Client {
	t.Helper()
	url, token := MustServe(t)
	c, err := client.New(url+root, token)
	if err != nil {
		t.Fatal(err)
	}
	c.HTTP = openapitest.MustLoad(t, httpapi.OpenAPI()).Client(t)
	c.HTTP.Timeout = 30 * time.Second
	return c
}

func TestClientRoundTrip(t *testing.T) {
	c := mustClient(t, "/api/v1/") // the API root, with a slash, works too
	ctx := context.Background()
	p, err := c.CreateParty(ctx, client.Fields{"name": "Customers", "category": "customer", "scope": "external",
		"reason": "initial register", "trigger": "periodic_review"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == "" || p.Name != "Customers" || p.Version != 1 || p.Influence != 3 {
		t.Fatalf("created %+v", p)
	}
	p, err = c.ReviseParty(ctx, p.ID, client.Fields{"influence": 5, "reason": "bigger", "trigger": "risk_assessment"})
	if err != nil || p.Influence != 5 || p.Version != 2 {
		t.Fatalf("revised %+v, %v", p, err)
	}
	r, err := c.CreateRequirement(ctx, p.ID, client.Fields{"kind": "requirement", "title": "Protect personal data",
		"source_type": "law", "source_ref": "GDPR Art. 32", "reason": "DPA", "trigger": "regulatory_change"})
	if err != nil || r.Title != "Protect personal data" {
		t.Fatalf("requirement %+v, %v", r, err)
	}
	r, err = c.DecideAddressing(ctx, p.ID, r.ID, client.Fields{"addressed": true, "controls": []string{"A.8.24"},
		"reason": "treated", "trigger": "risk_assessment"})
	if err != nil || r.Addressed == nil || !*r.Addressed {
		t.Fatalf("addressing %+v, %v", r, err)
	}
	if _, err := c.ReviseRequirement(ctx, p.ID, r.ID, client.Fields{"priority": "high", "reason": "x", "trigger": "incident"}); err != nil {
		t.Fatal(err)
	}
	reqs, err := c.Requirements(ctx, p.ID)
	if err != nil || len(reqs) != 1 || reqs[0].Priority != "high" {
		t.Fatalf("requirements %+v, %v", reqs, err)
	}
	if _, err := c.RetireRequirement(ctx, p.ID, r.ID, client.Fields{"reason": "gone", "trigger": "contract_change"}); err != nil {
		t.Fatal(err)
	}
	rv, err := c.HoldReview(ctx, client.Fields{"held_on": "2026-03-12", "title": "Q1", "reason": "quarterly", "trigger": "management_review"})
	if err != nil || rv.ID == "" {
		t.Fatalf("review %+v, %v", rv, err)
	}
	rvs, err := c.Reviews(ctx)
	if err != nil || len(rvs) != 1 || rvs[0].ID != rv.ID {
		t.Fatalf("reviews %+v, %v", rvs, err)
	}
	if _, err := c.RetireParty(ctx, p.ID, client.Fields{"reason": "gone", "trigger": "contract_change"}); err != nil {
		t.Fatal(err)
	}
	if ps, err := c.Parties(ctx, client.PartyFilter{}); err != nil || len(ps) != 0 {
		t.Fatalf("active parties after retire: %+v, %v", ps, err)
	}
	if ps, err := c.Parties(ctx, client.PartyFilter{Status: "all"}); err != nil || len(ps) != 1 {
		t.Fatalf("all parties: %+v, %v", ps, err)
	}
}

func TestClientProblems(t *testing.T) {
	c := mustClient(t, "")
	ctx := context.Background()
	_, err := c.CreateParty(ctx, client.Fields{"name": "X", "category": "nope", "scope": "external", "reason": "r", "trigger": "other"})
	var pe *client.Error
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Code != "invalid" || len(pe.Errors) == 0 || pe.Errors[0].Field != "category" {
		t.Fatalf("bad category: %#v", err)
	}
	if _, err := c.Party(ctx, "0190f1a2-0000-7000-8000-000000000000"); !client.IsCode(err, "not_found") {
		t.Fatalf("missing party: %v", err)
	}
	bad := *c
	bad.Token = "plt_wrong"
	if _, err := bad.Parties(ctx, client.PartyFilter{}); !client.IsCode(err, "unauthorized") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestResolveParty(t *testing.T) {
	c := mustClient(t, "")
	ctx := context.Background()
	mk := func(name, cat string) client.Party {
		p, err := c.CreateParty(ctx, client.Fields{"name": name, "category": cat, "scope": "external", "reason": "r", "trigger": "other"})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := mk("Acme Ltd", "supplier")
	b := mk("Regulator", "regulator")
	for _, tc := range []struct{ in, want string }{{a.ID, a.ID}, {"Acme Ltd", a.ID}, {"acme ltd", a.ID}, {"Regulator", b.ID}} {
		got, err := c.ResolveParty(ctx, tc.in)
		if err != nil || got.ID != tc.want {
			t.Errorf("ResolveParty(%q) = %s, %v; want %s", tc.in, got.ID, err, tc.want)
		}
	}
	if _, err := c.ResolveParty(ctx, "Nobody"); !client.IsCode(err, "not_found") {
		t.Errorf("unknown name: %v", err)
	}
	// A retired party keeps its name, which a new party may take: the active
	// one wins. Once both are retired the name is ambiguous, and the error
	// lists both ids.
	retire := func(id string) {
		if _, err := c.RetireParty(ctx, id, client.Fields{"reason": "r", "trigger": "other"}); err != nil {
			t.Fatal(err)
		}
	}
	retire(a.ID)
	a2 := mk("ACME LTD", "customer")
	if got, err := c.ResolveParty(ctx, "acme ltd"); err != nil || got.ID != a2.ID {
		t.Errorf("active name: %s, %v; want %s", got.ID, err, a2.ID)
	}
	retire(a2.ID)
	_, err := c.ResolveParty(ctx, "Acme ltd")
	if !errors.Is(err, client.ErrAmbiguous) || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), a2.ID) {
		t.Errorf("ambiguous name: %v", err)
	}
}

func TestAPIRoot(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8080":          "http://h:8080/api/v1",
		"http://h:8080/":         "http://h:8080/api/v1",
		"http://h:8080/api/v1":   "http://h:8080/api/v1",
		"http://h:8080/api/v1/":  "http://h:8080/api/v1",
		"https://h/pl/api/v1":    "https://h/pl/api/v1",
		"https://h/pl":           "https://h/pl/api/v1",
		"http://h:8080/?x=1#top": "http://h:8080/api/v1",
	} {
		got, err := client.APIRoot(in)
		if err != nil || got != want {
			t.Errorf("APIRoot(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "h:8080", "ftp://h", "http://"} {
		if _, err := client.APIRoot(bad); err == nil {
			t.Errorf("APIRoot(%q) accepted", bad)
		}
	}
}

// TestClientIfMatch checks the conditional write: a stale IfMatch is a 412
// precondition_failed that writes nothing, the current one succeeds, and
// reads on the same client are not made conditional.
func TestClientIfMatch(t *testing.T) {
	c := mustClient(t, "")
	ctx := context.Background()
	p, err := c.CreateParty(ctx, client.Fields{"name": "Customers", "category": "customer", "scope": "external"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = c.ReviseParty(ctx, p.ID, client.Fields{"influence": 4, "reason": "r"}); err != nil || p.Version != 2 {
		t.Fatalf("revise: %+v, %v", p, err)
	}
	stale := *c
	stale.IfMatch = `"1"`
	if _, err := stale.ReviseParty(ctx, p.ID, client.Fields{"influence": 5, "reason": "r"}); !client.IsCode(err, "precondition_failed") {
		t.Fatalf("stale If-Match: %v, want precondition_failed", err)
	}
	if got, err := stale.Party(ctx, p.ID); err != nil || got.Version != 2 || got.Influence != 4 {
		t.Fatalf("after the refused write: %+v, %v", got, err)
	}
	current := *c
	current.IfMatch = `"2"`
	if p, err = current.RetireParty(ctx, p.ID, client.Fields{"reason": "gone"}); err != nil || p.Status != "retired" || p.Version != 3 {
		t.Fatalf("current If-Match: %+v, %v", p, err)
	}
}
