package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// replica is one API server with a read model of its own over a shared
// event log: what a serve replica is, in-process.
type replica struct {
	URL   string
	Reads *projections.ReadModel

	mu      sync.Mutex
	stopRun func() // stops the read model's Run, if running
}

// follow starts the replica's read model following the log.
func (r *replica) follow(tb testing.TB) {
	tb.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopRun != nil {
		tb.Fatal("already following")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Reads.Run(ctx) }()
	r.stopRun = func() { cancel(); <-done }
}

// pause stops the read model following the log: the replica falls behind.
func (r *replica) pause() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopRun != nil {
		r.stopRun()
		r.stopRun = nil
	}
}

// MustRunReplicas runs n API servers on loopback ports over one SQLite
// event log and one token table, each with its own read model (not yet
// following the log) and the given consistency settings. It returns them
// and an admin token.
func MustRunReplicas(tb testing.TB, n int, cons func(*httpapi.Consistency)) ([]*replica, string) {
	tb.Helper()
	dir := tb.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
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
	secret, _, err := tokens.Create(ctx, "admin", auth.RoleAdmin, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var reps []*replica
	var closers []func()
	for i := range n {
		rdb, err := sqlite.OpenDB(filepath.Join(dir, fmt.Sprintf("rm%d.db", i)))
		if err != nil {
			tb.Fatal(err)
		}
		reads, err := projections.Open(ctx, rdb, store, logger)
		if err != nil {
			tb.Fatal(err)
		}
		api := &httpapi.Server{Commands: &commands.Service{Store: httpapi.NotePositions(store), Reads: reads}, Reads: reads,
			Tokens: tokens, Log: store, Logger: logger, Limits: httpapi.DefaultLimits}
		if cons != nil {
			cons(&api.Consistency)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		r := &replica{URL: "http://" + ln.Addr().String(), Reads: reads}
		reps = append(reps, r)
		closers = append(closers, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			r.pause()
			rdb.Close()
		})
	}
	tb.Cleanup(func() {
		for _, c := range closers {
			c()
		}
		tdb.Close()
		store.Close()
	})
	return reps, secret
}

// exchange is one validated request: it returns the status, the header and
// the JSON body decoded into a map.
func exchange(tb testing.TB, c *http.Client, method, url, token string, body string, hdr ...string) (int, http.Header, map[string]any) {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

// TestReadYourWritesAcrossReplicas writes through replica A and reads
// through replica B, whose read model is paused: without X-Min-Position B
// answers from before the write; with it B waits, answers 503 lagging
// within the bound, and the write's answer once B has applied it.
func TestReadYourWritesAcrossReplicas(t *testing.T) {
	const wait = 300 * time.Millisecond
	reps, token := MustRunReplicas(t, 2, func(c *httpapi.Consistency) { c.MinPositionWait = wait })
	a, b := reps[0], reps[1]
	a.follow(t)
	c := openapitest.MustLoad(t, httpapi.OpenAPI()).Client(t)

	st, h, p := exchange(t, c, "POST", a.URL+"/api/v1/parties", token, `{"name":"Regulator","category":"regulator","scope":"external"}`)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, p)
	}
	pos, err := strconv.ParseInt(h.Get("X-Position"), 10, 64)
	if err != nil || pos <= 0 {
		t.Fatalf("X-Position %q on a write, want the position of its last event", h.Get("X-Position"))
	}
	// The write's own events end at X-Position: it is the head now.
	st, _, ready := exchange(t, c, "GET", a.URL+"/readyz", "", "")
	if st != http.StatusOK || ready["status"] != "ready" || ready["head"] != float64(pos) || ready["position"] != float64(pos) || ready["lag"] != float64(0) {
		t.Fatalf("readyz on A after the write at %d: %d %v", pos, st, ready)
	}
	id := p["id"].(string)

	// B has applied nothing: a plain read misses the write ...
	if st, _, _ := exchange(t, c, "GET", b.URL+"/api/v1/parties/"+id, token, ""); st != http.StatusNotFound {
		t.Fatalf("B before applying: %d, want 404 (the eventual read)", st)
	}
	// ... a read with X-Min-Position waits, then says B is lagging.
	start := time.Now()
	st, h, prob := exchange(t, c, "GET", b.URL+"/api/v1/parties/"+id, token, "", "X-Min-Position", strconv.FormatInt(pos, 10))
	took := time.Since(start)
	if st != http.StatusServiceUnavailable || prob["code"] != "lagging" || h.Get("Retry-After") == "" {
		t.Fatalf("B lagging: %d %v (Retry-After %q), want 503 lagging with Retry-After", st, prob, h.Get("Retry-After"))
	}
	if took < wait || took > wait+2*time.Second {
		t.Errorf("the lagging answer came after %s, want about %s", took, wait)
	}
	// B is not ready: it has not caught up since it started.
	st, _, ready = exchange(t, c, "GET", b.URL+"/readyz", "", "")
	if st != http.StatusServiceUnavailable || ready["status"] != "catching_up" || ready["lag"] != float64(pos) {
		t.Fatalf("readyz on B: %d %v, want 503 catching_up with lag %d", st, ready, pos)
	}
	// Bad headers are refused, not ignored.
	for _, bad := range []string{"abc", "-1", "1.5"} {
		st, _, prob := exchange(t, c, "GET", b.URL+"/api/v1/parties/"+id, token, "", "X-Min-Position", bad)
		if st != http.StatusBadRequest || prob["code"] != "invalid" {
			t.Errorf("X-Min-Position %q: %d %v, want 400 invalid", bad, st, prob)
		}
	}

	// B applies the log while the request waits: the read sees the write.
	done := make(chan int)
	go func() {
		st, _, got := exchange(t, c, "GET", b.URL+"/api/v1/parties/"+id, token, "", "X-Min-Position", strconv.FormatInt(pos, 10))
		if got["name"] != "Regulator" {
			t.Errorf("read with X-Min-Position after the write: %v", got)
		}
		done <- st
	}()
	time.Sleep(wait / 3)
	b.follow(t)
	if st := <-done; st != http.StatusOK {
		t.Fatalf("read on B with X-Min-Position %d: %d, want 200", pos, st)
	}
	if st, _, ready := exchange(t, c, "GET", b.URL+"/readyz", "", ""); st != http.StatusOK || ready["lag"] != float64(0) {
		t.Fatalf("readyz on B once caught up: %d %v", st, ready)
	}
	// Every write answers X-Position, a PATCH too.
	st, h, _ = exchange(t, c, "PATCH", b.URL+"/api/v1/parties/"+id, token, `{"influence":5,"reason":"r","trigger":"other"}`)
	if next, _ := strconv.ParseInt(h.Get("X-Position"), 10, 64); st != http.StatusOK || next <= pos {
		t.Fatalf("PATCH: %d X-Position %q, want 200 and a position after %d", st, h.Get("X-Position"), pos)
	}
}

// TestReadyzLag: a replica that has caught up once stays ready while it
// is within the allowed lag, and answers 503 lagging beyond it, counted in
// events or in the age of the oldest unapplied event.
func TestReadyzLag(t *testing.T) {
	const maxAge = 1500 * time.Millisecond
	reps, token := MustRunReplicas(t, 2, func(c *httpapi.Consistency) { c.ReadyMaxLag, c.ReadyMaxLagAge = 5, maxAge })
	a, b := reps[0], reps[1]
	a.follow(t)
	b.follow(t)
	c := openapitest.MustLoad(t, httpapi.OpenAPI()).Client(t)
	create := func(i int) {
		t.Helper()
		st, _, p := exchange(t, c, "POST", a.URL+"/api/v1/parties", token, fmt.Sprintf(`{"name":"Supplier %d","category":"supplier","scope":"external"}`, i))
		if st != http.StatusCreated {
			t.Fatalf("create: %d %v", st, p)
		}
	}
	readyz := func() (int, map[string]any) {
		t.Helper()
		st, _, m := exchange(t, c, "GET", b.URL+"/readyz", "", "")
		return st, m
	}
	create(0)
	if st, m := readyz(); st != http.StatusOK {
		t.Fatalf("readyz: %d %v", st, m)
	}

	// Behind by more events than allowed.
	b.pause()
	for i := 1; i <= 3; i++ {
		create(i)
	}
	st, m := readyz()
	if st != http.StatusServiceUnavailable || m["status"] != "lagging" || m["lag"].(float64) <= 5 {
		t.Fatalf("readyz %d events behind: %d %v, want 503 lagging", 6, st, m)
	}
	b.follow(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if st, m = readyz(); st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz once following again: %d %v", st, m)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Behind by few events, but for too long.
	b.pause()
	create(10)
	st, m = readyz()
	if st != http.StatusOK || m["lag"].(float64) == 0 || m["lag_seconds"] == nil {
		t.Fatalf("readyz a little behind: %d %v, want 200 with its lag", st, m)
	}
	time.Sleep(maxAge + 100*time.Millisecond)
	st, m = readyz()
	if st != http.StatusServiceUnavailable || m["status"] != "lagging" || m["lag_seconds"].(float64) < maxAge.Seconds() {
		t.Fatalf("readyz behind for %s: %d %v, want 503 lagging", maxAge, st, m)
	}
}

// TestClientReadsItsWrites: the typed client keeps the X-Position of its
// writes and sends it with its reads, so a read through another replica
// that has not applied the write yet waits for it instead of missing it.
func TestClientReadsItsWrites(t *testing.T) {
	reps, token := MustRunReplicas(t, 2, nil)
	a, b := reps[0], reps[1]
	a.follow(t)
	ca, err := client.New(a.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	ca.HTTP = openapitest.MustLoad(t, httpapi.OpenAPI()).Client(t)
	ctx := context.Background()
	if ca.Position() != 0 {
		t.Fatalf("position %d before any write", ca.Position())
	}
	p, err := ca.CreateParty(ctx, client.Fields{"name": "Auditor", "category": "auditor", "scope": "external"})
	if err != nil {
		t.Fatal(err)
	}
	if ca.Position() == 0 {
		t.Fatal("the client did not keep the write's X-Position")
	}
	// The same client (a copy shares what it has written) reads through B,
	// which applies the log only 200 ms later.
	cb := *ca
	cb.API = b.URL + client.APIPath
	time.AfterFunc(200*time.Millisecond, func() { b.follow(t) })
	got, err := cb.Party(ctx, p.ID)
	if err != nil || got.Name != "Auditor" {
		t.Fatalf("read through B after the write through A: %+v, %v", got, err)
	}
	// A client that has written nothing sends no header (it reads
	// eventually); one that has written sends its latest position.
	fresh, _ := client.New(b.URL, token)
	if req, _ := fresh.Request(ctx, "GET", "/parties", nil); req.Header.Get("X-Min-Position") != "" {
		t.Error("a client without writes sent X-Min-Position")
	}
	if req, _ := cb.Request(ctx, "GET", "/parties", nil); req.Header.Get("X-Min-Position") != strconv.FormatInt(ca.Position(), 10) {
		t.Errorf("a read after a write sent X-Min-Position %q, want %d", req.Header.Get("X-Min-Position"), ca.Position())
	}
}

// TestOpenAPIReadYourWrites: the document says, for every authenticated
// operation, what the server does for all of them: reads take
// X-Min-Position, writes answer X-Position. A new route must say it too.
func TestOpenAPIReadYourWrites(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Security   *[]any           `json:"security"`
			Parameters []map[string]any `json:"parameters"`
			Responses  map[string]struct {
				Ref     string         `json:"$ref"`
				Headers map[string]any `json:"headers"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	const param, header = "#/components/parameters/MinPosition", "#/components/headers/Position"
	checked := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.Security != nil && len(*op.Security) == 0 {
				continue // unauthenticated: health checks, the document itself
			}
			checked++
			if method == "get" {
				found := false
				for _, p := range op.Parameters {
					found = found || p["$ref"] == param
				}
				if !found {
					t.Errorf(`%s %s lacks the X-Min-Position parameter: add {"$ref": %q} to its parameters`, method, path, param)
				}
				continue
			}
			for code, resp := range op.Responses {
				if code[0] != '2' {
					continue
				}
				if h, _ := resp.Headers["X-Position"].(map[string]any); h == nil || h["$ref"] != header {
					t.Errorf(`%s %s answer %s lacks the X-Position header: add "X-Position": {"$ref": %q} to its headers`, method, path, code, header)
				}
			}
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d operations; the document was not read", checked)
	}
}

// TestAPIDocsShowSharedParameters: the reference page shows a shared
// parameter by its name, as it shows the others.
func TestAPIDocsShowSharedParameters(t *testing.T) {
	srv := httptest.NewServer((&httpapi.Server{}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/docs")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(page), "<code>X-Min-Position</code>"); n < 20 {
		t.Fatalf("the reference names X-Min-Position %d times, want it on every authenticated read", n)
	}
}
