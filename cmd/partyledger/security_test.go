package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/auth"
)

// noLimits lifts the rate limits for tests that make many requests.
func noLimits(c *serveConfig) { c.rateLimit, c.authFails = 0, 0 }

// mustToken creates a token with the given role through the API.
func (s *testServer) mustToken(tb testing.TB, name, role string) string {
	tb.Helper()
	var out struct {
		Token string `json:"token"`
	}
	mustStatus(tb, s.do(tb, "POST", "/api/v1/tokens", map[string]any{"name": name, "role": role}, &out), http.StatusCreated)
	if !strings.HasPrefix(out.Token, "plt_") {
		tb.Fatalf("token %q lacks the plt_ prefix", out.Token)
	}
	return out.Token
}

func (s *testServer) as(token string) *testServer {
	c := *s
	c.Token = token
	return &c
}

// TestRoleMatrix calls every route of the route table as anonymous, viewer,
// auditor, editor and admin, and checks that access follows the role table:
// no unexpected 2xx, and every 401/403 is a problem document.
func TestRoleMatrix(t *testing.T) {
	s := MustRunServe(t, "", noLimits, func(c *serveConfig) { c.store.readModel = "" })
	tokens := map[string]string{"": ""}
	for _, role := range auth.Roles {
		tokens[role] = s.mustToken(t, "matrix-"+role, role)
	}
	var p party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "P", "category": "other", "scope": "internal"}, &p), http.StatusCreated)
	var rq requirement
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{"kind": "requirement", "title": "R"}, &rq), http.StatusCreated)
	var rv struct{ ID string }
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": "2026-01-01"}, &rv), http.StatusCreated)

	param := regexp.MustCompile(`\{[a-z_]+\}`)
	if len(s.Routes) < 20 {
		t.Fatalf("route table has %d routes; the test would prove little", len(s.Routes))
	}
	unexpected := 0
	for _, rt := range s.Routes {
		path := param.ReplaceAllStringFunc(rt.Path, func(m string) string {
			switch {
			case m == "{rid}":
				return rq.ID
			case m == "{name}":
				return "no-such-token"
			case m == "{id}" && strings.HasPrefix(rt.Path, "/api/v1/parties/"):
				return p.ID
			case m == "{id}" && strings.HasPrefix(rt.Path, "/api/v1/management-reviews/"):
				return rv.ID
			}
			return "0190f1a2-0000-7000-8000-000000000000"
		})
		for _, role := range append([]string{""}, auth.Roles...) {
			name := fmt.Sprintf("%s %s as %q", rt.Method, rt.Path, role)
			var body any
			if rt.Method == "POST" || rt.Method == "PATCH" || rt.Method == "PUT" {
				body = "{}"
			}
			if rt.Path == "/api/v1/stream" || strings.HasSuffix(rt.Path, "/stream") {
				continue // a live stream never ends; its access is checked in its own test
			}
			resp := s.as(tokens[role]).do(t, rt.Method, path, body, nil)
			code := resp.StatusCode
			var pr problem
			if code == 401 || code == 403 {
				_ = json.NewDecoder(resp.Body).Decode(&pr)
			}
			allowed := rt.Perm == "" || (role != "" && auth.Allowed(role, rt.Perm))
			switch {
			case rt.Perm != "" && role == "":
				if code != http.StatusUnauthorized {
					t.Errorf("%s: status %d, want 401", name, code)
				}
			case !allowed:
				if code != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", name, code)
				}
			default:
				if code == http.StatusUnauthorized || code == http.StatusForbidden {
					t.Errorf("%s: status %d, want access", name, code)
				}
			}
			if code >= 200 && code < 300 && !allowed {
				unexpected++
			}
			if code == 401 || code == 403 {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || pr.Status != code {
					t.Errorf("%s: %d answered as %q %+v", name, code, ct, pr)
				}
			}
		}
	}
	if unexpected != 0 {
		t.Fatalf("%d unexpected 2xx", unexpected)
	}
}

// TestTokenLifecycle: revocation takes effect on the next request, names are
// never reused, the list never shows a secret, and no token reaches the logs.
func TestTokenLifecycle(t *testing.T) {
	s := MustRunServe(t, "", noLimits, func(c *serveConfig) { c.logLevel = "debug" })
	alice := s.mustToken(t, "alice", "editor")
	mustStatus(t, s.as(alice).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK)
	// An editor may not manage tokens.
	mustStatus(t, s.as(alice).do(t, "GET", "/api/v1/tokens", nil, nil), http.StatusForbidden)

	resp := s.do(t, "GET", "/api/v1/tokens", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	body := readAll(t, resp)
	if strings.Contains(body, "plt_") || strings.Contains(body, "hash") {
		t.Fatalf("token list leaks secrets: %s", body)
	}
	mustStatus(t, s.do(t, "DELETE", "/api/v1/tokens/alice", nil, nil), http.StatusNoContent)
	mustStatus(t, s.as(alice).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusUnauthorized)
	// The name identifies an actor in the audit trail: never reused.
	mustStatus(t, s.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "alice", "role": "viewer"}, nil), http.StatusConflict)
	// An expiry in the past is refused; a token past its expiry is refused.
	mustStatus(t, s.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "bob", "role": "viewer",
		"expires_at": time.Now().Add(-time.Hour).Format(time.RFC3339)}, nil), http.StatusBadRequest)

	// A flow with writes, then no token may appear anywhere in the logs.
	mustStatus(t, s.as(s.Token).do(t, "POST", "/api/v1/parties", map[string]any{"name": "Logged", "category": "other", "scope": "internal"}, nil), http.StatusCreated)
	mustStatus(t, s.as(alice+"x").do(t, "GET", "/api/v1/parties", nil, nil), http.StatusUnauthorized)
	logs := s.Logs.String()
	if !strings.Contains(logs, "/api/v1/parties") {
		t.Fatalf("the request log is empty; the test would prove nothing:\n%s", logs)
	}
	for _, tok := range []string{s.Token, alice} {
		if strings.Contains(logs, tok) || strings.Contains(logs, tok[4:20]) {
			t.Fatalf("a token reached the logs")
		}
	}
}

// TestRateLimits: per-token limit answers 429 with Retry-After; failed
// authentications are limited per client address; both are in the
// security log that auditors read.
func TestRateLimits(t *testing.T) {
	s := MustRunServe(t, "", func(c *serveConfig) { c.rateLimit, c.rateBurst, c.authFails = 1, 3, 10 })
	viewer := s.mustToken(t, "viewer1", "viewer")
	var got []int
	var retry string
	for range 5 {
		resp := s.as(viewer).do(t, "GET", "/api/v1/parties", nil, nil)
		got = append(got, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			retry = resp.Header.Get("Retry-After")
		}
	}
	if got[0] != 200 || got[4] != 429 {
		t.Fatalf("statuses %v: want 200 first and 429 last", got)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 {
		t.Fatalf("Retry-After %q", retry)
	}

	for range 10 {
		mustStatus(t, s.as("plt_wrong").do(t, "GET", "/api/v1/parties", nil, nil), http.StatusUnauthorized)
	}
	// Failed authentications from the address are now refused with 429...
	resp := s.as("plt_wrong").do(t, "GET", "/api/v1/parties", nil, nil)
	mustStatus(t, resp, http.StatusTooManyRequests)
	// ...but a valid token from the same address is not (issue 18, finding 2).
	mustStatus(t, s.do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK)

	// The denials are in the security log's own file, not the event log's.
	db := openDBForTest(t, strings.TrimSuffix(s.DB, ".db")+".security.db")
	var n429, n401 int
	if err := db.QueryRow(`SELECT COALESCE(SUM(count) FILTER (WHERE status = 429), 0), COALESCE(SUM(count) FILTER (WHERE status = 401), 0) FROM access_log`).Scan(&n429, &n401); err != nil {
		t.Fatal(err)
	}
	if n429 < 2 || n401 != 10 {
		t.Fatalf("security log has %d 429s and %d 401s; want >= 2 and 10", n429, n401)
	}
}

// TestSecurityLogAPI: auditors read denials over HTTP; page size is capped.
func TestSecurityLogAPI(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	auditor := s.mustToken(t, "auditor1", "auditor")
	viewer := s.mustToken(t, "viewer1", "viewer")
	mustStatus(t, s.as(viewer).do(t, "POST", "/api/v1/parties", map[string]any{"name": "X"}, nil), http.StatusForbidden)
	var out struct {
		Entries []auth.AccessEntry `json:"entries"`
	}
	mustStatus(t, s.as(auditor).do(t, "GET", "/api/v1/audit/access?outcome=forbidden", nil, &out), http.StatusOK)
	if len(out.Entries) != 1 || out.Entries[0].Actor != "viewer1" || out.Entries[0].Path != "/api/v1/parties" || out.Entries[0].Status != 403 {
		t.Fatalf("security log %+v", out.Entries)
	}
	mustStatus(t, s.as(auditor).do(t, "GET", "/api/v1/audit/access?limit=501", nil, nil), http.StatusBadRequest)
	mustStatus(t, s.as(viewer).do(t, "GET", "/api/v1/audit/access", nil, nil), http.StatusForbidden)
}

// TestBodyShapeLimits: deep nesting and long arrays are refused, nothing written.
func TestBodyShapeLimits(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	before := eventCount(t, s.DB)
	deep := `{"name":"X","category":"other","scope":"internal","description":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", deep, nil), http.StatusBadRequest)
	long := `{"held_on":"2026-01-01","attendees":[` + strings.TrimSuffix(strings.Repeat(`"a",`, 1001), ",") + `]}`
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", long, nil), http.StatusBadRequest)
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("events written: %d → %d", before, n)
	}
}

func readAll(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}
