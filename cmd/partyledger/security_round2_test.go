package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Issue 18, finding 1: trace ids are checked at the edge; a bad one is a
// 400 that writes nothing, and a good one reaches the stored event.
func TestTraceIDsCheckedAtTheEdge(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	body := map[string]any{"name": "Customers", "category": "customer", "scope": "external"}
	before := eventCount(t, s.DB)
	for _, bad := range []string{"bad\xff\xfeutf8", strings.Repeat("a", 129), "tab\there", "ünïcode"} {
		for _, h := range []string{"X-Correlation-ID", "X-Causation-ID"} {
			resp := s.do(t, "POST", "/api/v1/parties", body, nil, h, bad)
			mustStatus(t, resp, http.StatusBadRequest)
			if !strings.Contains(readAll(t, resp), h) {
				t.Errorf("%s %q: the problem does not name the header", h, bad)
			}
		}
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("events written by refused requests: %d → %d", before, n)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", body, nil,
		"X-Correlation-ID", "0190f1a2-0000-7000-8000-000000000001", "X-Causation-ID", "<b>job 42</b>"), http.StatusCreated)
	db := openDBForTest(t, s.DB)
	var corr, cause string
	if err := db.QueryRow(`SELECT correlation_id, causation_id FROM events ORDER BY position DESC LIMIT 1`).Scan(&corr, &cause); err != nil {
		t.Fatal(err)
	}
	if corr != "0190f1a2-0000-7000-8000-000000000001" || cause != "<b>job 42</b>" {
		t.Fatalf("stored trace ids %q %q", corr, cause)
	}
}

// Issue 18, finding 10: duplicate JSON keys, numbers sent as strings and
// repeated single-valued query parameters are refused, not guessed at.
func TestStrictDecoding(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	before := eventCount(t, s.DB)
	for _, body := range []string{
		`{"name":"A","name":"B","category":"customer","scope":"external"}`,
		`{"name":"A","category":"customer","scope":"external","influence":"3"}`,
		`{"name":"A","category":"customer","scope":"external","description":"x","reason":"r","trigger":"other","interest":{"a":1,"a":2}}`,
	} {
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", body, nil), http.StatusBadRequest)
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("events written by refused requests: %d → %d", before, n)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", `{"name":"A","category":"customer","scope":"external","influence":3}`, nil), http.StatusCreated)
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=beginning&since=last_review", nil, nil), http.StatusBadRequest)
	mustStatus(t, s.do(t, "GET", "/api/v1/parties?category=customer&category=other", nil, nil), http.StatusBadRequest)
	mustStatus(t, s.do(t, "GET", "/api/v1/parties?x=%zz", nil, nil), http.StatusBadRequest)
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=beginning", nil, nil), http.StatusOK)
}

// Issue 18, finding 11: the hardening headers.
func TestHardeningHeaders(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "A", "category": "customer", "scope": "external"}, nil), http.StatusCreated)
	for _, c := range []struct {
		path    string
		token   string
		status  int
		noStore bool
	}{
		{"/healthz", "", 200, false},
		{"/api/v1/register?format=csv", s.Token, 200, true},
		{"/api/v1/register", s.Token, 200, true},
		{"/api/v1/parties", "", 401, true},
		{"/no/such/path", "", 404, true},
	} {
		resp := s.as(c.token).do(t, "GET", c.path, nil, nil)
		mustStatus(t, resp, c.status)
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.path, got)
		}
		if c.noStore && resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", c.path, resp.Header.Get("Cache-Control"))
		}
		if c.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", c.path, resp.Header.Get("WWW-Authenticate"))
		}
	}
}

// Issue 18, finding 5: the register CSV and the change report CSV quote
// every field and neutralise a formula after any separator, with the
// full-width signs too.
func TestCSVFormulaInjection(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	var p struct{ ID string }
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "x;=1+1", "category": "customer",
		"scope": "external", "description": "＝HYPERLINK(\"http://evil\")", "owner": "a,@SUM(A1)"}, &p), http.StatusCreated)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{"kind": "requirement",
		"title": "t;-2+3", "description": "line\n-2+3", "reason": "＋1;＠x"}, nil), http.StatusCreated)
	for _, path := range []string{"/api/v1/register?format=csv", "/api/v1/reports/changes?since=beginning&format=csv"} {
		resp := s.do(t, "GET", path, nil, nil)
		mustStatus(t, resp, http.StatusOK)
		body := readAll(t, resp)
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %v %q", path, err, body)
		}
		// Every field is quoted: each line starts and ends with a quote.
		for _, line := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
			if !strings.HasPrefix(line, `"`) {
				t.Errorf("%s: unquoted field in line %q", path, line)
			}
		}
		// No cell, split again on any separator a spreadsheet might use,
		// starts with a formula character.
		for _, row := range rows[1:] {
			for _, cell := range row {
				for _, part := range strings.FieldsFunc(cell, func(r rune) bool { return strings.ContainsRune(",;\t\r\n", r) }) {
					part = strings.TrimLeft(part, " ")
					if part != "" && strings.ContainsRune("=+-@＝＋－＠", []rune(part)[0]) {
						t.Errorf("%s: cell %q has a formula start %q", path, cell, part)
					}
				}
			}
		}
		if !strings.Contains(body, "x;'=1+1") {
			t.Errorf("%s: the party name was not defused: %q", path, body)
		}
	}
}

// Issue 18, finding 9: look-alike names are the same name; invisible and
// bidi controls are refused.
func TestLookAlikeNames(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	mk := func(name string) *http.Response {
		return s.do(t, "POST", "/api/v1/parties", map[string]any{"name": name, "category": "customer", "scope": "external"}, nil)
	}
	mustStatus(t, mk("Customers"), http.StatusCreated)
	for _, name := range []string{"Сustomers", "ＣＵＳＴＯＭＥＲＳ", "Cust0mers", "customers "} {
		mustStatus(t, mk(name), http.StatusConflict)
	}
	for _, name := range []string{"Cust\u200bomers", "\u202eCustomers", "Sup\u2067pliers"} {
		mustStatus(t, mk(name), http.StatusBadRequest)
	}
	mustStatus(t, mk("Suppliers"), http.StatusCreated)
}

// Issue 18, findings 2 and 3: behind a trusted proxy the limiter counts
// the forwarded client, repeated denials are aggregated into few lines of
// the security log's own file, and the event log's file holds none.
func TestFailedAuthBehindTrustedProxy(t *testing.T) {
	s := MustRunServe(t, "", func(c *serveConfig) {
		c.rateLimit, c.authFails = 0, 10
		c.trustedProxies = []string{"127.0.0.0/8"}
	})
	bad := s.as("plt_wrong")
	for range 10 {
		mustStatus(t, bad.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "203.0.113.5"), http.StatusUnauthorized)
	}
	mustStatus(t, bad.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "203.0.113.5"), http.StatusTooManyRequests)
	// Another client behind the same proxy is not affected, nor is a valid
	// token from the locked-out client.
	mustStatus(t, bad.do(t, "GET", "/api/v1/parties", nil, nil, "Forwarded", `for="203.0.113.6:4711"`), http.StatusUnauthorized)
	mustStatus(t, s.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "203.0.113.5"), http.StatusOK)
	// A spoofed hop in front of the real client does not move the limit:
	// the nearest untrusted address is the client.
	mustStatus(t, bad.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "198.51.100.1, 203.0.113.5"), http.StatusTooManyRequests)

	// A flood from the locked-out client: few lines, every denial counted.
	for range 200 {
		bad.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "203.0.113.5")
	}
	sec := openDBForTest(t, strings.TrimSuffix(s.DB, ".db")+".security.db")
	var lines, total int
	if err := sec.QueryRow(`SELECT COUNT(*), SUM(count) FROM access_log WHERE client = '203.0.113.5'`).Scan(&lines, &total); err != nil {
		t.Fatal(err)
	}
	if lines > 4 || total != 212 {
		t.Fatalf("security log: %d lines for %d denials; want at most 4 lines for 212", lines, total)
	}
	var inEventLog int
	if err := openDBForTest(t, s.DB).QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'access_log'`).Scan(&inEventLog); err != nil {
		t.Fatal(err)
	}
	if inEventLog != 0 {
		t.Fatal("the event log's file has an access_log table")
	}
}

// Without --trusted-proxy, forwarding headers are ignored: a client cannot
// pick the address it is limited by.
func TestForwardedHeadersIgnoredWithoutTrust(t *testing.T) {
	s := MustRunServe(t, "", func(c *serveConfig) { c.rateLimit, c.authFails = 0, 3 })
	bad := s.as("plt_wrong")
	for i := range 3 {
		mustStatus(t, bad.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)), http.StatusUnauthorized)
	}
	mustStatus(t, bad.do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "203.0.113.99"), http.StatusTooManyRequests)
}

// openRawStream opens GET /api/v1/stream with token and returns the response.
func openRawStream(tb testing.TB, s *testServer, token string) *http.Response {
	tb.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { resp.Body.Close() })
	return resp
}

// Issue 18, findings 6 and 4: a token holds at most 8 live streams (the
// ninth gets 429 with Retry-After), and a revoked token loses its streams
// within 15 s.
func TestStreamLimitsAndRevocation(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	viewer := s.mustToken(t, "streamer", "viewer")
	other := s.mustToken(t, "other", "viewer")
	var streams []*http.Response
	for range 8 {
		resp := openRawStream(t, s, viewer)
		mustStatus(t, resp, http.StatusOK)
		streams = append(streams, resp)
	}
	ninth := openRawStream(t, s, viewer)
	mustStatus(t, ninth, http.StatusTooManyRequests)
	if ninth.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	mustStatus(t, openRawStream(t, s, other), http.StatusOK) // other tokens are not affected

	mustStatus(t, s.do(t, "DELETE", "/api/v1/tokens/streamer", nil, nil), http.StatusNoContent)
	start := time.Now()
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, streams[0].Body) // returns when the server closes the stream
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(15 * time.Second):
		t.Fatal("the revoked token's stream is still open after 15 s")
	}
	t.Logf("stream closed %v after revocation", time.Since(start).Round(time.Millisecond))
}

// Issue 18, finding 8 (and 4's webhook half): subscriptions belong to
// their creator (admins manage all); an editor's deliveries carry no
// auditor-only envelope fields; revoking a token pauses its subscriptions
// and their history says so.
func TestSubscriptionOwnership(t *testing.T) {
	withWebhookAllow(t, "127.0.0.1/32")
	rc := newHookReceiver(t)
	s := MustRunServe(t, "", noLimits)
	alice := s.as(s.mustToken(t, "alice", "editor"))
	bob := s.as(s.mustToken(t, "bob", "editor"))
	var sub struct {
		ID           string `json:"id"`
		FullEnvelope bool   `json:"full_envelope"`
	}
	mustStatus(t, alice.do(t, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL + "/alice"}, &sub), http.StatusCreated)
	if sub.FullEnvelope {
		t.Fatal("an editor's subscription gets the full envelope")
	}
	base := "/api/v1/subscriptions/" + sub.ID
	for _, c := range []struct{ method, path string }{
		{"GET", base}, {"DELETE", base}, {"POST", base + "/rotate-secret"}, {"POST", base + "/enable"},
		{"GET", base + "/deliveries"},
	} {
		mustStatus(t, bob.do(t, c.method, c.path, nil, nil), http.StatusNotFound)
	}
	mustStatus(t, bob.do(t, "POST", base+"/redeliver", map[string]any{"from_position": 1}, nil), http.StatusNotFound)
	var list struct {
		Subscriptions []struct{ ID string } `json:"subscriptions"`
	}
	mustStatus(t, bob.do(t, "GET", "/api/v1/subscriptions", nil, &list), http.StatusOK)
	if len(list.Subscriptions) != 0 {
		t.Fatalf("bob lists %v", list.Subscriptions)
	}
	mustStatus(t, s.do(t, "GET", base, nil, nil), http.StatusOK) // admin

	// A delivery to alice's receiver: no hash chain or trace ids.
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "P", "category": "other", "scope": "internal"}, nil,
		"X-Correlation-ID", "corr-secret-1"), http.StatusCreated)
	hits := rc.waitHits(t, 1)
	if ev := hits[0].payload.Data.Event; strings.Contains(string(hits[0].body), "corr-secret-1") || ev.Hash != "" || ev.PrevHash != "" || ev.ID == "" {
		t.Fatalf("an editor's delivery carries auditor-only fields: %s", hits[0].body)
	}

	// Revoking alice pauses her subscription, and its history says why.
	mustStatus(t, s.do(t, "DELETE", "/api/v1/tokens/alice", nil, nil), http.StatusNoContent)
	var got struct {
		Status  string `json:"status"`
		History []struct {
			Kind   string `json:"kind"`
			Detail string `json:"detail"`
		} `json:"history"`
	}
	mustStatus(t, s.do(t, "GET", base, nil, &got), http.StatusOK)
	last := got.History[len(got.History)-1]
	if got.Status != "disabled" || !strings.Contains(last.Detail, "revoked") {
		t.Fatalf("after revoking alice: %+v", got)
	}
}

// Issue 18, finding 7: token names are unique case-insensitively, never
// reuse an actor of the log, and creation and revocation are events an
// auditor reads (without the secret).
func TestTokenNamesAndEvents(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "P", "category": "other", "scope": "internal"}, nil), http.StatusCreated)
	secret := s.mustToken(t, "alice", "editor")
	for _, name := range []string{"Alice", "ALICE", "admin"} {
		mustStatus(t, s.do(t, "POST", "/api/v1/tokens", map[string]any{"name": name, "role": "viewer"}, nil), http.StatusConflict)
	}
	mustStatus(t, s.as(secret).do(t, "POST", "/api/v1/parties", map[string]any{"name": "Q", "category": "other", "scope": "internal"}, nil), http.StatusCreated)
	mustStatus(t, s.do(t, "DELETE", "/api/v1/tokens/alice", nil, nil), http.StatusNoContent)

	db := openDBForTest(t, s.DB)
	rows, err := db.Query(`SELECT type, actor, data FROM events WHERE type LIKE 'token.%' ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var typ, actor, data string
		if err := rows.Scan(&typ, &actor, &data); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(data, secret) || strings.Contains(data, "plt_") {
			t.Fatalf("%s carries a secret: %s", typ, data)
		}
		got = append(got, typ+" by "+actor+": "+data)
	}
	want := []string{
		`token.created by admin: {"name":"alice","role":"editor","expires_at":null}`,
		`token.revoked by admin: {"name":"alice","paused_subscriptions":[]}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("token events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A name that acts in the log cannot become a token's name.
func TestTokenNameOfAnActor(t *testing.T) {
	db := MustDemoDB(t)
	s := MustRunServe(t, db, noLimits)
	var actor string
	if err := openDBForTest(t, db).QueryRow(`SELECT actor FROM events WHERE actor <> '' LIMIT 1`).Scan(&actor); err != nil {
		t.Fatal(err)
	}
	// Wait until the read model has applied the demo log.
	mustStatus(t, s.do(t, "GET", "/readyz", nil, nil), http.StatusOK)
	mustStatus(t, s.do(t, "POST", "/api/v1/tokens", map[string]any{"name": strings.ToUpper(actor), "role": "viewer"}, nil), http.StatusConflict)
}
