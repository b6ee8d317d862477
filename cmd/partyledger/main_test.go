package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
)

// testServer is the real program serving on a loopback port with a
// temporary database.
type testServer struct {
	URL   string
	Token string // the bootstrap admin token
	DB    string
	// Routes is the route table of the running server.
	Routes []httpapi.RouteInfo
	// Logs and Stdout capture what serve wrote.
	Logs, Stdout *syncBuffer
	// Client validates every exchange against the OpenAPI document.
	Client *http.Client
	stop   func()
	// seen, when set, makes do read its writes across replicas: it keeps
	// the highest X-Position answered and sends it as X-Min-Position with
	// every read (as the typed client does). Copies share it.
	seen *atomic.Int64
}

// syncBuffer is a bytes.Buffer safe for the server and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// MustRunServe starts serve on 127.0.0.1:0 with the database at dbPath (a
// new one in t.TempDir() when empty) and stops it at the end of the test.
func MustRunServe(tb testing.TB, dbPath string, opts ...func(*serveConfig)) *testServer {
	tb.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(tb.TempDir(), "partyledger.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var routes []httpapi.RouteInfo
	addrc := make(chan string, 1)
	stdout := &syncBuffer{}
	cfg := serveConfig{store: storeFlags{db: dbPath}, addr: "127.0.0.1:0", logFormat: "text", logLevel: "warn",
		rateLimit: 100, rateBurst: 200, authFails: 10,
		onListen: func(a string) { addrc <- a }, onAPI: func(api *httpapi.Server) { routes = api.Routes() }}
	for _, o := range opts {
		o(&cfg)
	}
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, cfg, stdout, logs) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		cancel()
		tb.Fatalf("serve: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("serve did not start")
	}
	s := &testServer{URL: "http://" + addr, DB: dbPath, Routes: routes, Logs: logs, Stdout: stdout,
		Client: openapitest.MustLoad(tb, httpapi.OpenAPI()).Client(tb)}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(line, "plt_") {
			s.Token = strings.TrimSpace(line)
		}
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("serve: %v", err)
			}
		})
	}
	tb.Cleanup(s.stop)
	return s
}

// do sends a request with the token and decodes a JSON answer into out (if
// not nil). It returns the response with its body read.
func (s *testServer) do(tb testing.TB, method, path string, body any, out any, hdr ...string) *http.Response {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if s.seen != nil && s.seen.Load() > 0 && (method == http.MethodGet || method == http.MethodHead) {
		req.Header.Set("X-Min-Position", strconv.FormatInt(s.seen.Load(), 10))
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if pos, err := strconv.ParseInt(resp.Header.Get("X-Position"), 10, 64); err == nil && s.seen != nil && resp.StatusCode/100 == 2 {
		for old := s.seen.Load(); pos > old && !s.seen.CompareAndSwap(old, pos); old = s.seen.Load() {
		}
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp
}

// mustStatus fails the test unless resp has the wanted status.
func mustStatus(tb testing.TB, resp *http.Response, want int) {
	tb.Helper()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, b)
	}
}

// eventCount counts the events in the log by reading the SQLite file
// directly, beside the running server.
func eventCount(tb testing.TB, dbPath string) int {
	tb.Helper()
	db, err := sqlite.OpenDB(dbPath, sqlite.WithQueryOnly())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// openDBForTest opens the event log file read-only beside a running server.
func openDBForTest(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sqlite.OpenDB(path, sqlite.WithQueryOnly())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// registerEventCount returns the number of events in the log that are not
// internal bookkeeping (name reservations, see domain.IsInternalEvent).
func registerEventCount(tb testing.TB, dbPath string) int {
	tb.Helper()
	db := openDBForTest(tb, dbPath)
	rows, err := db.Query(`SELECT type FROM events`)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var typ string
		if err := rows.Scan(&typ); err != nil {
			tb.Fatal(err)
		}
		if !domain.IsInternalEvent(typ) {
			n++
		}
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}
