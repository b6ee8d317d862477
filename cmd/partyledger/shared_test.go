package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// natsArgs are the token CLI's flags for the JetStream of srv, as serve
// uses it in these tests (onNATS).
func natsArgs(srv *server.Server) []string {
	return []string{"--store", "nats", "--nats-url", srv.ClientURL(), "--nats-stream", "PARTYLEDGER",
		"--nats-monitor", "http://" + srv.MonitorAddr().String(), "--nats-durability", "durable"}
}

// MustRunReplicas starts n serve replicas on the JetStream of srv at the
// same time, each with its own local --db, and returns them with the one
// admin token that exactly one of them printed set on all.
func MustRunReplicas(t *testing.T, srv *server.Server, n int) []*testServer {
	t.Helper()
	reps := make([]*testServer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			reps[i] = MustRunServe(t, filepath.Join(t.TempDir(), "r.db"), onNATS(srv))
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var tokens []string
	for _, r := range reps {
		if r.Token != "" {
			tokens = append(tokens, r.Token)
		}
	}
	if len(tokens) != 1 {
		t.Fatalf("%d replicas started together on an empty shared store printed %d admin tokens, want exactly 1", n, len(tokens))
	}
	for i, r := range reps {
		reps[i] = r.as(tokens[0])
	}
	return reps
}

// TestSharedTokensAcrossReplicas runs three replicas on one JetStream:
// one admin token is bootstrapped and works on all; a token created
// through A works on B and C as soon as A answered; a token revoked on B
// is refused by A within 2 s (measured while A's cache holds it).
func TestSharedTokensAcrossReplicas(t *testing.T) {
	srv := MustRunNATS(t)
	reps := MustRunReplicas(t, srv, 3)
	a, b, c := reps[0], reps[1], reps[2]
	for _, r := range reps {
		mustStatus(t, r.do(t, "GET", "/api/v1/tokens", nil, nil), http.StatusOK)
	}

	ci := createToken(t, a, "ci", "editor")
	for _, r := range []*testServer{b, c} {
		mustStatus(t, r.as(ci).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK)
	}
	// The name is taken on every replica, in any case.
	mustStatus(t, c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "CI", "role": "viewer"}, nil), http.StatusConflict)

	const bound = 2 * time.Second
	var lags []time.Duration
	for i := range 5 {
		name := "revoked-" + string(rune('a'+i))
		secret := createToken(t, a, name, "viewer")
		mustStatus(t, a.as(secret).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK) // now in A's cache
		mustStatus(t, b.do(t, "DELETE", "/api/v1/tokens/"+name, nil, nil), http.StatusNoContent)
		revoked := time.Now()
		for {
			code := a.as(secret).do(t, "GET", "/api/v1/parties", nil, nil).StatusCode
			if code == http.StatusUnauthorized {
				break
			}
			if code != http.StatusOK {
				t.Fatalf("A answered %d for a token being revoked", code)
			}
			if time.Since(revoked) > bound+time.Second {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		lags = append(lags, time.Since(revoked))
		mustStatus(t, c.as(secret).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusUnauthorized)
	}
	slices.Sort(lags)
	t.Logf("revoked on B, refused by A after: median %s, max %s (bound %s)", lags[len(lags)/2], lags[len(lags)-1], bound)
	if lags[len(lags)-1] > bound {
		t.Fatalf("a token revoked on B was accepted by A for %s, more than %s", lags[len(lags)-1], bound)
	}
}

// TestSharedConsoleSessions: a browser signed in through A is signed in on
// B; every replica's session list shows it; ended on C, it is refused by A.
func TestSharedConsoleSessions(t *testing.T) {
	srv := MustRunNATS(t)
	reps := MustRunReplicas(t, srv, 3)
	a, b, c := reps[0], reps[1], reps[2]
	browser := consoleClient(t)
	MustSignIn(t, browser, a.URL, a.Token)
	if resp, body := consoleDo(t, browser, "GET", b.URL+"/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("the session cookie from A on B: %d %q; %.200s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	var list sessionList
	mustStatus(t, c.do(t, "GET", "/api/v1/sessions", nil, &list), http.StatusOK)
	if len(list.Sessions) != 1 || list.Sessions[0].Actor != "admin" {
		t.Fatalf("sessions on C: %+v", list.Sessions)
	}
	mustStatus(t, c.do(t, "DELETE", "/api/v1/sessions/"+list.Sessions[0].ID, nil, nil), http.StatusNoContent)
	if resp, _ := consoleDo(t, browser, "GET", a.URL+"/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a session ended on C still signs in on A: %d", resp.StatusCode)
	}
}

// TestSharedOIDCSignIn: an OIDC sign-in started on A completes on B (a
// round-robin load balancer), once: the state is taken from the shared
// bucket, and a replay on A is refused.
func TestSharedOIDCSignIn(t *testing.T) {
	srv := MustRunNATS(t)
	m := MustRunMockOIDC(t, nil)
	currentProvider = m
	t.Cleanup(func() { currentProvider = nil })
	withSignIn(t, m, m.ClientID, true)
	reps := MustRunReplicas(t, srv, 2)
	a, b := reps[0], reps[1]
	browser := consoleClient(t)
	cb := oidcStart(t, browser, a.URL, "", person("jane@example.com", "isms-editors"))
	bu, _ := url.Parse(b.URL)
	onB := *cb
	onB.Host = bu.Host
	resp, body := consoleDo(t, browser, "GET", onB.String(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback of A's sign-in on B: %d %q; %.300s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, _ := consoleDo(t, browser, "GET", a.URL+"/", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in through B, on A: %d", resp.StatusCode)
	}
	mustRefused(t, a, consoleClient(t), cb.String(), http.StatusBadRequest, "already used")
}

// TestTokenCLIOnNATS manages the shared tokens with the token CLI: made by
// `token create --store nats`, it works on a replica; listed; revoked, it
// is refused within 2 s.
func TestTokenCLIOnNATS(t *testing.T) {
	srv := MustRunNATS(t)
	r := MustRunReplicas(t, srv, 1)[0]
	out, code := runCLI(t, append([]string{"token", "create", "--name", "cli-made", "--role", "editor"}, natsArgs(srv)...)...)
	secret := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(secret, "plt_") {
		t.Fatalf("token create --store nats: exit %d: %s", code, out)
	}
	mustStatus(t, r.as(secret).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK)
	out, code = runCLI(t, append([]string{"token", "list"}, natsArgs(srv)...)...)
	if code != 0 || !strings.Contains(out, "cli-made") || !strings.Contains(out, "admin") {
		t.Fatalf("token list --store nats: exit %d: %s", code, out)
	}
	if out, code = runCLI(t, append([]string{"token", "revoke", "cli-made"}, natsArgs(srv)...)...); code != 0 {
		t.Fatalf("token revoke --store nats: exit %d: %s", code, out)
	}
	deadline := time.Now().Add(2 * time.Second)
	for r.as(secret).do(t, "GET", "/api/v1/parties", nil, nil).StatusCode != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("a token revoked with the CLI is still accepted after 2 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, code = runCLI(t, "token", "list", "--store", "embedded-nats"); code == 0 || !strings.Contains(out, "--store nats --nats-url") {
		t.Fatalf("token CLI on embedded-nats: exit %d: %s, want a refusal that says what to do", code, out)
	}
}

// TestTokensMigrateToNATS: tokens in a replica's local --db are moved to
// the shared store when it starts on NATS, and work on every replica; a
// local token whose name the shared store holds with another secret stops
// the start with a message that says how to resolve it.
func TestTokensMigrateToNATS(t *testing.T) {
	srv := MustRunNATS(t)
	dir := t.TempDir()
	localDB := filepath.Join(dir, "a.db")
	out, code := runCLI(t, "token", "create", "--db", localDB, "--name", "legacy", "--role", "editor")
	legacy := strings.TrimSpace(out)
	if code != 0 {
		t.Fatalf("token create on SQLite: %s", out)
	}
	a := MustRunServe(t, localDB, onNATS(srv))
	if a.Token != "" {
		t.Fatal("a replica whose tokens moved to the shared store printed a new admin token")
	}
	b := MustRunServe(t, filepath.Join(dir, "b.db"), onNATS(srv))
	for _, r := range []*testServer{a, b} {
		mustStatus(t, r.as(legacy).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK)
	}
	a.stop()
	// Started again, nothing is moved twice and the token still works.
	a = MustRunServe(t, localDB, onNATS(srv))
	mustStatus(t, a.as(legacy).do(t, "GET", "/api/v1/parties", nil, nil), http.StatusOK)

	otherDB := filepath.Join(dir, "c.db")
	if out, code := runCLI(t, "token", "create", "--db", otherDB, "--name", "Legacy", "--role", "admin"); code != 0 {
		t.Fatalf("token create on SQLite: %s", out)
	}
	cfg := serveConfig{store: storeFlags{db: otherDB}, addr: "127.0.0.1:0", logFormat: "text", logLevel: "error"}
	onNATS(srv)(&cfg)
	err := runServe(t.Context(), cfg, &syncBuffer{}, &syncBuffer{})
	if err == nil || !strings.Contains(err.Error(), `"Legacy"`) || !strings.Contains(err.Error(), "DELETE FROM tokens") {
		t.Fatalf("start with a local token conflicting with a shared one: %v, want a refusal that says how to resolve it", err)
	}
}

// TestSharedSecurityLog: GET /api/v1/audit/access on any replica shows the
// denials of every replica.
func TestSharedSecurityLog(t *testing.T) {
	srv := MustRunNATS(t)
	reps := MustRunReplicas(t, srv, 2)
	a, b := reps[0], reps[1]
	mustStatus(t, a.as("plt_wrong-on-a").do(t, "GET", "/api/v1/parties", nil, nil), http.StatusUnauthorized)
	mustStatus(t, b.as("plt_wrong-on-b").do(t, "GET", "/api/v1/register", nil, nil), http.StatusUnauthorized)
	deadline := time.Now().Add(3 * time.Second)
	for _, r := range reps {
		for {
			var log struct {
				Entries []struct {
					ID   int64  `json:"id"`
					Path string `json:"path"`
				} `json:"entries"`
			}
			mustStatus(t, r.do(t, "GET", "/api/v1/audit/access?outcome=unauthenticated", nil, &log), http.StatusOK)
			paths := map[string]bool{}
			for _, e := range log.Entries {
				paths[e.Path] = true
			}
			if paths["/api/v1/parties"] && paths["/api/v1/register"] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s's security log shows %+v, want the denials of both replicas", r.URL, log.Entries)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
