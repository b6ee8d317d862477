package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/mattn/go-sqlite3"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/projections"
)

// runCLI runs the program with args and returns what it printed and the
// exit code its error maps to (0 without error).
func runCLI(tb testing.TB, args ...string) (string, int) {
	tb.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String() + errOut.String(), ee.code
	default:
		return out.String() + errOut.String() + err.Error(), 1
	}
}

// body returns the response body as text.
func body(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// auditMoment is what the live API answered at one moment of a test.
type auditMoment struct {
	at       string // RFC 3339 time just after the capture
	position int64
	register any
	csv      string
	parties  map[string]any
}

type eventsPage struct {
	Events []eventstore.Event `json:"events"`
	Next   *string            `json:"next"`
}

// allEvents pages through GET /api/v1/events with query q and limit.
func allEvents(tb testing.TB, s *testServer, q url.Values, limit int) []eventstore.Event {
	tb.Helper()
	var out []eventstore.Event
	q.Set("limit", fmt.Sprint(limit))
	for pages := 0; ; pages++ {
		var page eventsPage
		mustStatus(tb, s.do(tb, "GET", "/api/v1/events?"+q.Encode(), nil, &page), http.StatusOK)
		out = append(out, page.Events...)
		if page.Next == nil {
			if len(page.Events) > limit {
				tb.Fatalf("page of %d events with limit %d", len(page.Events), limit)
			}
			return out
		}
		if len(page.Events) != limit {
			tb.Fatalf("a page before the last has %d events, limit %d", len(page.Events), limit)
		}
		q.Set("after", *page.Next)
		if pages > 10000 {
			tb.Fatal("paging does not end")
		}
	}
}

// TestAuditTrail drives the program over HTTP: it changes the register
// step by step, capturing the live register after each step, then checks
// the register and each party as_of every moment (by time and by
// position) against the captures, the filtered event queries against a
// scan, the histories, verification, checkpoints and access by role.
func TestAuditTrail(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	viewer := s.mustToken(t, "vera", "viewer")
	auditor := s.mustToken(t, "audrey", "auditor")
	editor := s.mustToken(t, "eddie", "editor")
	ed := s.as(editor)

	var moments []auditMoment
	known := map[string]bool{}
	capture := func() {
		t.Helper()
		var ready struct{ Head int64 }
		mustStatus(t, s.do(t, "GET", "/readyz", nil, &ready), http.StatusOK)
		m := auditMoment{position: ready.Head, parties: map[string]any{}}
		mustStatus(t, s.do(t, "GET", "/api/v1/register?status=all", nil, &m.register), http.StatusOK)
		resp := s.do(t, "GET", "/api/v1/register?format=csv", nil, nil)
		mustStatus(t, resp, http.StatusOK)
		m.csv = body(resp)
		for id := range known {
			var p any
			mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+id, nil, &p), http.StatusOK)
			m.parties[id] = p
		}
		m.at = time.Now().UTC().Format(time.RFC3339Nano)
		moments = append(moments, m)
		time.Sleep(2 * time.Millisecond) // the next event is stamped after m.at
	}
	post := func(srv *testServer, path string, b map[string]any, want int) map[string]any {
		t.Helper()
		var out map[string]any
		mustStatus(t, srv.do(t, "POST", path, b, &out), want)
		return out
	}
	patch := func(srv *testServer, path string, b map[string]any) {
		t.Helper()
		mustStatus(t, srv.do(t, "PATCH", path, b, nil), http.StatusOK)
	}

	capture() // the empty register
	customers := post(ed, "/api/v1/parties", map[string]any{"name": "Customers", "category": "customer",
		"scope": "external", "owner": "Head of Sales", "influence": 4, "interest": 5}, http.StatusCreated)["id"].(string)
	known[customers] = true
	capture()
	regulator := post(s, "/api/v1/parties", map[string]any{"name": "Data protection authority", "category": "regulator",
		"scope": "external", "reason": "GDPR", "trigger": "regulatory_change"}, http.StatusCreated)["id"].(string)
	staff := post(ed, "/api/v1/parties", map[string]any{"name": "Staff", "category": "employee", "scope": "internal"}, http.StatusCreated)["id"].(string)
	known[regulator], known[staff] = true, true
	capture()
	gdpr := post(ed, "/api/v1/parties/"+customers+"/requirements", map[string]any{"kind": "requirement",
		"title": "Protect personal data", "source_type": "law", "source_ref": "GDPR Art. 32", "priority": "high"}, http.StatusCreated)["id"].(string)
	sla := post(ed, "/api/v1/parties/"+customers+"/requirements", map[string]any{"kind": "requirement",
		"title": "99.9 % availability", "source_type": "sla", "trigger": "contract_change", "reason": "MSA signed"}, http.StatusCreated)["id"].(string)
	capture()
	post(s, "/api/v1/parties/"+customers+"/requirements/"+gdpr+"/addressing", map[string]any{"addressed": true,
		"rationale": "legal obligation", "controls": []string{"A.8.24"}, "reason": "risk treatment plan", "trigger": "risk_assessment"}, http.StatusOK)
	patch(ed, "/api/v1/parties/"+customers, map[string]any{"influence": 5, "reason": "bigger accounts", "trigger": "customer_feedback"})
	capture()
	post(ed, "/api/v1/management-reviews", map[string]any{"held_on": "2026-06-30", "title": "H1 review"}, http.StatusCreated)
	patch(ed, "/api/v1/parties/"+customers+"/requirements/"+gdpr, map[string]any{"priority": "critical",
		"reason": "NIS2 in force", "trigger": "regulatory_change"})
	post(ed, "/api/v1/parties/"+customers+"/requirements/"+sla+"/retire", map[string]any{"reason": "contract ended", "trigger": "contract_change"}, http.StatusOK)
	capture()
	post(ed, "/api/v1/parties/"+staff+"/retire", map[string]any{"reason": "merged", "trigger": "other"}, http.StatusOK)
	patch(s, "/api/v1/parties/"+regulator, map[string]any{"name": "Supervisory authority", "reason": "renamed", "trigger": "audit_finding"})
	capture()

	// The register as of every moment, by time and by position, JSON and
	// CSV, for every role that may read the register.
	for i, m := range moments {
		for _, at := range []string{m.at, fmt.Sprintf("position:%d", m.position)} {
			for _, srv := range []*testServer{s.as(viewer), s.as(auditor)} {
				var got any
				mustStatus(t, srv.do(t, "GET", "/api/v1/register?status=all&as_of="+url.QueryEscape(at), nil, &got), http.StatusOK)
				if diff := cmp.Diff(m.register, got); diff != "" {
					t.Fatalf("moment %d: register as_of=%s differs from the live one (-live +as_of):\n%s", i, at, diff)
				}
			}
			resp := s.do(t, "GET", "/api/v1/register?format=csv&as_of="+url.QueryEscape(at), nil, nil)
			mustStatus(t, resp, http.StatusOK)
			if got := body(resp); got != m.csv {
				t.Fatalf("moment %d: CSV as_of=%s:\n%s\nwant\n%s", i, at, got, m.csv)
			}
			for id := range known {
				var got any
				resp := s.do(t, "GET", "/api/v1/parties/"+id+"?as_of="+url.QueryEscape(at), nil, &got)
				want, existed := m.parties[id]
				if !existed {
					mustStatus(t, resp, http.StatusNotFound)
					continue
				}
				mustStatus(t, resp, http.StatusOK)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("moment %d: party %s as_of=%s (-live +as_of):\n%s", i, id, at, diff)
				}
			}
		}
	}
	// The CLI folds the same registers from the database file.
	for _, m := range moments[len(moments)-3:] {
		out, code := runCLI(t, "register", "--db", s.DB, "--status", "all", "--as-of", m.at)
		var got any
		if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
			t.Fatalf("register --as-of: exit %d: %s", code, out)
		}
		if diff := cmp.Diff(m.register, got); diff != "" {
			t.Fatalf("CLI register --as-of %s (-live +cli):\n%s", m.at, diff)
		}
	}
	for _, bad := range []string{"yesterday", "position:-1", "position:"} {
		var p problem
		mustStatus(t, s.do(t, "GET", "/api/v1/register?as_of="+url.QueryEscape(bad), nil, &p), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != "as_of" {
			t.Fatalf("as_of=%s: %+v", bad, p)
		}
	}

	// The audit trail: every event, full envelopes whose hashes recompute.
	au := s.as(auditor)
	all := allEvents(t, au, url.Values{}, 4)
	if n := eventCount(t, s.DB); len(all) != n || n < 12 {
		t.Fatalf("%d events paged, %d in the log", len(all), n)
	}
	for i, ev := range all {
		if ev.Position != int64(i+1) || ev.ComputeHash() != ev.Hash || (i > 0 && ev.PrevHash != all[i-1].Hash) {
			t.Fatalf("event %d as served does not hash: %+v", i+1, ev)
		}
	}
	mid, err := time.Parse(time.RFC3339Nano, moments[3].at)
	if err != nil {
		t.Fatal(err)
	}
	filters := []url.Values{
		{"party": {customers}},
		{"requirement": {gdpr}},
		{"party": {customers}, "type": {"requirement.revised"}},
		{"stream": {"party-" + regulator}},
		{"type": {"party.identified"}},
		{"actor": {"admin"}},
		{"actor": {"eddie"}, "trigger": {"regulatory_change"}},
		{"trigger": {"contract_change"}},
		{"from": {moments[3].at}},
		{"to": {moments[3].at}},
		{"from": {moments[2].at}, "to": {moments[5].at}, "party": {customers}},
		{"after": {"5"}, "type": {"party.revised"}},
		{"type": {"no.such.type"}},
	}
	for _, q := range filters {
		f, err := projectionsFilter(q)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for i := range all {
			if all[i].Position > f.After && f.Matches(&all[i]) {
				want = append(want, all[i].Position)
			}
		}
		var got []int64
		for _, ev := range allEvents(t, au, cloneValues(q), 2) {
			got = append(got, ev.Position)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events?%s (-scan +api):\n%s", q.Encode(), diff)
		}
	}
	if !mid.After(all[0].Time) {
		t.Fatalf("moment 3 at %s is not after the first event", mid)
	}
	for q, field := range map[string]string{"limit=501": "limit", "limit=0": "limit", "after=-1": "after",
		"from=yesterday": "from", "actr=alice": "actr", "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z": "to",
		"type=a&type=b": "type"} {
		var p problem
		mustStatus(t, au.do(t, "GET", "/api/v1/events?"+q, nil, &p), http.StatusBadRequest)
		if len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("events?%s: %+v, want an error on %s", q, p, field)
		}
	}
	var page eventsPage
	mustStatus(t, au.do(t, "GET", "/api/v1/events?limit=500", nil, &page), http.StatusOK)
	if len(page.Events) != len(all) || page.Next != nil {
		t.Fatalf("limit=500: %d events, next %v", len(page.Events), page.Next)
	}

	// Histories, oldest first, identification included.
	var hist struct {
		PartyID string `json:"party_id"`
		History []struct {
			Position    int64     `json:"position"`
			Type        string    `json:"type"`
			Actor       string    `json:"actor"`
			Reason      string    `json:"reason"`
			Trigger     string    `json:"trigger"`
			Time        time.Time `json:"time"`
			Requirement *struct{ ID string }
			Changes     []fieldChange `json:"changes"`
		} `json:"history"`
	}
	mustStatus(t, au.do(t, "GET", "/api/v1/parties/"+customers+"/history", nil, &hist), http.StatusOK)
	var custEvents []int64
	for _, ev := range all {
		if ev.Stream == "party-"+customers {
			custEvents = append(custEvents, ev.Position)
		}
	}
	if len(hist.History) != len(custEvents) || hist.History[0].Type != "party.identified" || hist.History[0].Actor != "eddie" {
		t.Fatalf("history of customers: %+v, want %d items", hist, len(custEvents))
	}
	for i, it := range hist.History {
		if it.Position != custEvents[i] || it.Time.IsZero() || it.Trigger == "" {
			t.Fatalf("history item %d: %+v", i, it)
		}
	}
	mustStatus(t, au.do(t, "GET", "/api/v1/parties/"+customers+"/requirements/"+gdpr+"/history", nil, &hist), http.StatusOK)
	if len(hist.History) != 3 || hist.History[2].Trigger != "regulatory_change" || hist.History[2].Reason != "NIS2 in force" ||
		len(hist.History[2].Changes) != 1 || hist.History[2].Changes[0].Field != "priority" || hist.History[2].Changes[0].To != "critical" {
		t.Fatalf("history of the GDPR requirement: %+v", hist)
	}
	mustStatus(t, au.do(t, "GET", "/api/v1/parties/"+staff+"/requirements/"+gdpr+"/history", nil, nil), http.StatusNotFound)
	mustStatus(t, au.do(t, "GET", "/api/v1/parties/0190f1a2-0000-7000-8000-000000000000/history", nil, nil), http.StatusNotFound)
	// The CLI computes the same history from the file.
	out, code := runCLI(t, "audit", "history", customers, "--db", s.DB, "--requirement", gdpr, "--format", "json")
	var cliHist any
	var apiHist any
	mustStatus(t, au.do(t, "GET", "/api/v1/parties/"+customers+"/requirements/"+gdpr+"/history", nil, &apiHist), http.StatusOK)
	if code != 0 || json.Unmarshal([]byte(out), &cliHist) != nil {
		t.Fatalf("audit history: exit %d %s", code, out)
	}
	if diff := cmp.Diff(apiHist, cliHist); diff != "" {
		t.Fatalf("CLI history (-api +cli):\n%s", diff)
	}

	// Verification and checkpoints.
	var res struct {
		OK     bool  `json:"ok"`
		Events int64 `json:"events"`
		Head   struct {
			Position int64  `json:"position"`
			Hash     string `json:"hash"`
		} `json:"head"`
		FirstFailure *struct{ Position int64 } `json:"first_failure"`
	}
	mustStatus(t, au.do(t, "GET", "/api/v1/audit/verify", nil, &res), http.StatusOK)
	if !res.OK || res.Events != int64(len(all)) || res.Head.Hash != all[len(all)-1].Hash || res.FirstFailure != nil {
		t.Fatalf("verify: %+v", res)
	}
	// A never-signed log is signed at the maker's first poll, so the latest
	// checkpoint may or may not exist yet; asking for one signs the head now.
	if code := au.do(t, "GET", "/api/v1/audit/checkpoint", nil, nil).StatusCode; code != http.StatusOK && code != http.StatusNotFound {
		t.Fatalf("GET /api/v1/audit/checkpoint: status %d", code)
	}
	resp := au.do(t, "POST", "/api/v1/audit/checkpoints", nil, nil)
	mustStatus(t, resp, http.StatusCreated)
	made := body(resp)
	resp = au.do(t, "GET", "/api/v1/audit/checkpoint", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	if got := body(resp); got != made || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("latest checkpoint %q (%s), made %q", got, resp.Header.Get("Content-Type"), made)
	}
	resp = au.do(t, "GET", "/api/v1/audit/public-key", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	v, err := checkpoint.NewVerifier(body(resp))
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Open([]byte(made), v)
	if err != nil || c.Position != int64(len(all)) || c.Hash != res.Head.Hash {
		t.Fatalf("signed checkpoint %+v %v; head %+v", c, err, res.Head)
	}

	// Only auditors and admins reach the audit routes.
	auditPaths := []string{"/api/v1/events", "/api/v1/parties/" + customers + "/history",
		"/api/v1/parties/" + customers + "/requirements/" + gdpr + "/history",
		"/api/v1/audit/verify", "/api/v1/audit/checkpoint", "/api/v1/audit/public-key"}
	for _, p := range auditPaths {
		for role, tok := range map[string]string{"viewer": viewer, "editor": editor} {
			mustStatus(t, s.as(tok).do(t, "GET", p, nil, nil), http.StatusForbidden)
			_ = role
		}
		for _, srv := range []*testServer{s, au} {
			mustStatus(t, srv.do(t, "GET", p, nil, nil), http.StatusOK)
		}
	}
	mustStatus(t, s.as(viewer).do(t, "POST", "/api/v1/audit/checkpoints", nil, nil), http.StatusForbidden)
	mustStatus(t, s.as(editor).do(t, "POST", "/api/v1/audit/checkpoints", nil, nil), http.StatusForbidden)

	// After shutdown the CLI verifies the file, with the kept checkpoints.
	s.stop()
	out, code = runCLI(t, "verify", "--db", s.DB)
	if code != 0 || !strings.HasPrefix(out, "OK: ") || strings.Contains(out, " 0 checkpoint(s)") {
		t.Fatalf("verify after shutdown: exit %d: %s", code, out)
	}
}

// projectionsFilter reads an events query as the API does.
func projectionsFilter(q url.Values) (projections.EventFilter, error) {
	f := projections.EventFilter{Party: q.Get("party"), Requirement: q.Get("requirement"),
		Stream: q.Get("stream"), Type: q.Get("type"), Actor: q.Get("actor"), Trigger: q.Get("trigger")}
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return f, err
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return f, err
		}
	}
	if v := q.Get("after"); v != "" {
		_, err = fmt.Sscan(v, &f.After)
	}
	return f, err
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// tamper opens the database file directly with SQLite, as an intruder
// would, drops the append-only triggers and runs the statements.
func tamper(tb testing.TB, path string, stmts ...string) {
	tb.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, q := range append([]string{`DROP TRIGGER IF EXISTS events_no_update`, `DROP TRIGGER IF EXISTS events_no_delete`}, stmts...) {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

// firstCheckpointFrom returns the position of the first checkpoint stored
// in the database at path at or after position from.
func firstCheckpointFrom(tb testing.TB, path string, from int64) int64 {
	tb.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var pos int64
	if err := db.QueryRow(`SELECT MIN(position) FROM audit_checkpoints WHERE position >= ?`, from).Scan(&pos); err != nil {
		tb.Fatalf("stored checkpoints: %v", err)
	}
	return pos
}

// TestVerifyCommand runs "partyledger verify" on a database that serve
// wrote and that is then tampered with through SQLite: the exit status and
// the reported position, with and without a saved checkpoint and an
// exported reference.
func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "partyledger.db")
	s := MustRunServe(t, db, noLimits)
	for i := 0; i < 8; i++ {
		var p party
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Party %d", i),
			"category": "partner", "scope": "external"}, &p), http.StatusCreated)
		mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{"kind": "expectation",
			"title": "Fair dealing"}, nil), http.StatusCreated)
	}
	resp := s.do(t, "POST", "/api/v1/audit/checkpoints", nil, nil)
	mustStatus(t, resp, http.StatusCreated)
	saved := filepath.Join(dir, "saved.note")
	if err := os.WriteFile(saved, []byte(body(resp)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.stop()
	pub := defaultKeyPath(db) + checkpoint.PublicKeySuffix

	pack := filepath.Join(dir, "pack")
	if out, code := runCLI(t, "audit", "export", "--db", db, "--out", pack); code != 0 {
		t.Fatalf("export: exit %d: %s", code, out)
	}
	if out, code := runCLI(t, "verify", "--pack", pack); code != 0 || !strings.Contains(out, "OK: 24 events") /* 8 parties, their 8 name claims, 8 requirements */ {
		t.Fatalf("verify --pack: exit %d: %s", code, out)
	}
	// The jsonl of "audit events" is the export's format.
	out, code := runCLI(t, "audit", "events", "--db", db, "--format", "jsonl")
	exported, _ := os.ReadFile(filepath.Join(pack, "events.jsonl"))
	if code != 0 || out != string(exported) {
		t.Fatalf("audit events --format jsonl differs from the export (exit %d)", code)
	}

	copyDB := func(name string) string {
		p := filepath.Join(dir, name+".db")
		b, err := os.ReadFile(db)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := os.Stat(db + "-wal"); err == nil {
		t.Fatal("the log was not checkpointed on close: copying the file alone would lose events")
	}
	type verdict struct {
		OK           bool `json:"ok"`
		FirstFailure *struct {
			Position int64  `json:"position"`
			Reason   string `json:"reason"`
		} `json:"first_failure"`
	}
	check := func(name string, wantCode int, wantPos int64, args ...string) {
		t.Helper()
		out, code := runCLI(t, append([]string{"verify", "--format", "json"}, args...)...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d: %s", name, code, wantCode, out)
		}
		var v verdict
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: %v: %s", name, err, out)
		}
		if wantCode == 1 && (v.FirstFailure == nil || v.FirstFailure.Position != wantPos) {
			t.Fatalf("%s: %+v, want a failure at %d", name, v.FirstFailure, wantPos)
		}
	}
	check("pristine", 0, 0, "--db", db, "--checkpoint", saved, "--public-key", pub)

	edited := copyDB("edited")
	tamper(t, edited, `UPDATE events SET reason = 'forged' WHERE position = 5`)
	check("edited", 1, 5, "--db", edited)

	truncated := copyDB("truncated")
	tamper(t, truncated, `DELETE FROM events WHERE position > 11`)
	check("truncated, no checkpoint", 0, 0, "--db", truncated, "--stored-checkpoints=false")
	check("truncated, saved checkpoint", 1, 12, "--db", truncated, "--checkpoint", saved, "--public-key", pub, "--stored-checkpoints=false")

	// Re-hashed from position 7 on: the chain is consistent; the saved
	// checkpoint shows it at its position, the reference at 7.
	rehashed := copyDB("rehashed")
	tamper(t, rehashed, `UPDATE events SET reason = 'forged' WHERE position = 7`)
	rehashFrom(t, rehashed, 7)
	check("re-hashed, no checkpoint", 0, 0, "--db", rehashed, "--stored-checkpoints=false")
	check("re-hashed, saved checkpoint", 1, 24, "--db", rehashed, "--checkpoint", saved, "--public-key", pub, "--stored-checkpoints=false")
	check("re-hashed, reference", 1, 7, "--db", rehashed, "--reference", filepath.Join(pack, "events.jsonl"))
	// The checkpoints kept in the database catch it too, unless their
	// table is forged, which breaks their signatures.
	// The maker may have signed more checkpoints while serve ran (its
	// interval is wall-clock time): the first one at or after the edit is
	// where the rewrite shows.
	firstStored := firstCheckpointFrom(t, rehashed, 7)
	check("re-hashed, stored checkpoints", 1, firstStored, "--db", rehashed, "--public-key", pub)
	// Forged notes break every stored checkpoint's signature: the first
	// one (wherever the maker's clock put it) is where verify stops.
	firstAny := firstCheckpointFrom(t, rehashed, 1)
	tamper(t, rehashed, `UPDATE audit_checkpoints SET note = replace(note, substr(note, instr(note, char(10)) + 4, 5), 'AAAAA')`)
	check("re-hashed, forged stored checkpoints", 1, firstAny, "--db", rehashed, "--public-key", pub)

	if out, code := runCLI(t, "verify", "--db", filepath.Join(dir, "missing.db")); code != 2 {
		t.Fatalf("missing database: exit %d: %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Fatal("verify created the database it was asked to check")
	}
}

// rehashFrom recomputes prev_hash and hash from position from to the end,
// as an intruder covering an edit would.
func rehashFrom(tb testing.TB, path string, from int64) {
	tb.Helper()
	ctx := context.Background()
	store, err := openLog(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, 0, 1<<20)
	store.Close()
	if err != nil {
		tb.Fatal(err)
	}
	var stmts []string
	prev := evs[from-2].Hash
	for _, ev := range evs[from-1:] {
		ev.PrevHash = prev
		ev.Hash = ev.ComputeHash()
		stmts = append(stmts, fmt.Sprintf(`UPDATE events SET prev_hash = '%s', hash = '%s' WHERE position = %d`, ev.PrevHash, ev.Hash, ev.Position))
		prev = ev.Hash
	}
	tamper(tb, path, stmts...)
}
