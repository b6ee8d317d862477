package main

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
	ExpectedVersion *int64 `json:"expected_version"`
	ActualVersion   *int64 `json:"actual_version"`
}

type party struct {
	ID           string        `json:"id"`
	Version      int64         `json:"version"`
	Name         string        `json:"name"`
	Influence    int           `json:"influence"`
	ParentID     *string       `json:"parent_id"`
	Status       string        `json:"status"`
	Requirements []requirement `json:"requirements"`
}

type requirement struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Priority  string   `json:"priority"`
	Addressed *bool    `json:"addressed"`
	Controls  []string `json:"controls"`
	Status    string   `json:"status"`
}

type fieldChange struct {
	Field string `json:"field"`
	From  any    `json:"from"`
	To    any    `json:"to"`
}

type changeItem struct {
	Position    int64  `json:"position"`
	Actor       string `json:"actor"`
	Reason      string `json:"reason"`
	Trigger     string `json:"trigger"`
	Change      string `json:"change"`
	Party       struct{ ID, Name string }
	Requirement *struct{ ID, Title string }
	Changes     []fieldChange `json:"changes"`
}

type changesResp struct {
	Since struct {
		Kind     string `json:"kind"`
		Position int64  `json:"position"`
	} `json:"since"`
	Items []changeItem `json:"items"`
}

// TestFlow drives the whole program over HTTP: create, revise, review,
// revise again, then read the detailed and net 9.3.2 c) feeds.
func TestFlow(t *testing.T) {
	s := MustRunServe(t, "")
	if !strings.HasPrefix(s.Token, "plt_") {
		t.Fatalf("no bootstrap admin token printed")
	}
	reg := flowScenario(t, s, func() int { return registerEventCount(t, s.DB) })

	// A restart on the same file shows the same register.
	s.stop()
	s2 := MustRunServe(t, s.DB)
	s2.Token = s.Token
	var reg2 flowRegister
	mustStatus(t, s2.do(t, "GET", "/api/v1/register", nil, &reg2), http.StatusOK)
	if diff := cmp.Diff(reg, reg2); diff != "" {
		t.Fatalf("register after restart (-before +after):\n%s", diff)
	}
}

// flowRegister is the register as the flow scenario reads it.
type flowRegister struct{ Parties []party }

// flowScenario is the end-to-end API scenario of the core issue, run
// against s (one server, or a load balancer in front of replicas): create,
// revise, review, revise again, then read the detailed and net 9.3.2 c)
// feeds and the register, which it returns. registerEvents counts the
// log's events that are not bookkeeping (name reservations).
func flowScenario(t *testing.T, s *testServer, registerEvents func() int) flowRegister {
	t.Helper()
	// Every /api/v1 call needs a token.
	anon := *s
	anon.Token = ""
	var p problem
	resp := anon.do(t, "GET", "/api/v1/parties", nil, &p)
	mustStatus(t, resp, http.StatusUnauthorized)
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || p.Code != "unauthorized" {
		t.Fatalf("401 as %q code %q", ct, p.Code)
	}
	mustStatus(t, anon.do(t, "GET", "/healthz", nil, nil), http.StatusOK)
	mustStatus(t, anon.do(t, "GET", "/readyz", nil, nil), http.StatusOK)

	var customers party
	resp = s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Customers", "category": "customer",
		"scope": "external", "owner": "Head of Sales", "influence": 4, "interest": 5}, &customers)
	mustStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("ETag") != `"1"` || customers.Version != 1 || customers.ID == "" || customers.Status != "active" {
		t.Fatalf("created party %+v etag %s", customers, resp.Header.Get("ETag"))
	}

	var gov party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Government customers",
		"category": "government_customer", "scope": "external", "parent_id": customers.ID}, &gov), http.StatusCreated)
	if gov.ParentID == nil || *gov.ParentID != customers.ID {
		t.Fatalf("parent not kept: %+v", gov)
	}

	// Names are unique among active parties, case-insensitively.
	resp = s.do(t, "POST", "/api/v1/parties", map[string]any{"name": " customers ", "category": "customer", "scope": "external"}, &p)
	mustStatus(t, resp, http.StatusConflict)

	var req requirement
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+customers.ID+"/requirements", map[string]any{
		"kind": "requirement", "title": "Protect personal data", "source_type": "law",
		"source_ref": "GDPR Art. 32", "priority": "high", "review_due": "2027-01-31"}, &req), http.StatusCreated)
	if req.ID == "" || req.Addressed != nil || req.Priority != "high" {
		t.Fatalf("created requirement %+v", req)
	}
	reqPath := "/api/v1/parties/" + customers.ID + "/requirements/" + req.ID

	// A stale If-Match fails; the current one succeeds.
	resp = s.do(t, "PATCH", "/api/v1/parties/"+customers.ID, map[string]any{"influence": 5, "reason": "bigger accounts",
		"trigger": "risk_assessment"}, &p, "If-Match", `"1"`)
	mustStatus(t, resp, http.StatusPreconditionFailed)
	if p.ActualVersion == nil || *p.ActualVersion != 2 {
		t.Fatalf("412 without actual version: %+v", p)
	}
	var got party
	mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+customers.ID, map[string]any{"influence": 5,
		"reason": "bigger accounts", "trigger": "risk_assessment"}, &got, "If-Match", `"2"`), http.StatusOK)
	if got.Influence != 5 || got.Version != 3 {
		t.Fatalf("revised party %+v", got)
	}
	// A revision without a reason is refused and names the field.
	p = problem{}
	mustStatus(t, s.do(t, "PATCH", "/api/v1/parties/"+customers.ID, map[string]any{"influence": 2}, &p), http.StatusBadRequest)
	if len(p.Errors) != 1 || p.Errors[0].Field != "reason" {
		t.Fatalf("want a reason error, got %+v", p)
	}

	var decided requirement
	mustStatus(t, s.do(t, "POST", reqPath+"/addressing", map[string]any{"addressed": true,
		"rationale": "core obligation", "treatment": "encryption and access control",
		"controls": []string{"A.5.19", "A.8.24"}, "reason": "risk treatment plan", "trigger": "risk_assessment"}, &decided), http.StatusOK)
	if decided.Addressed == nil || !*decided.Addressed || len(decided.Controls) != 2 {
		t.Fatalf("addressing decision %+v", decided)
	}

	var review struct {
		ID           string `json:"id"`
		Position     int64  `json:"position"`
		ConsideredTo int64  `json:"considered_to"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{
		"held_on": time.Now().UTC().Format("2006-01-02"), "title": "Q3 review", "attendees": []string{"CEO", "CISO"}}, &review), http.StatusCreated)
	if review.ID == "" || review.Position == 0 {
		t.Fatalf("review %+v", review)
	}

	// After the review: priority high → critical → high (nets out), a new
	// description, a new requirement, and a retired party.
	for _, body := range []map[string]any{
		{"priority": "critical", "reason": "NIS2 in force", "trigger": "regulatory_change"},
		{"description": "Art. 32 measures for customer data", "reason": "clarified", "trigger": "audit_finding"},
		{"priority": "high", "reason": "back to normal", "trigger": "periodic_review"},
	} {
		mustStatus(t, s.do(t, "PATCH", reqPath, body, nil), http.StatusOK)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+customers.ID+"/requirements", map[string]any{
		"kind": "expectation", "title": "Status page", "reason": "customer survey", "trigger": "customer_feedback"}, nil), http.StatusCreated)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+gov.ID+"/retire", map[string]any{"reason": "no public sector deals", "trigger": "management_review"}, nil), http.StatusOK)

	var detailed changesResp
	mustStatus(t, s.do(t, "GET", "/api/v1/changes", nil, &detailed), http.StatusOK)
	// The window starts where the review's considered window ended: the
	// head when it was recorded, just before its own event.
	if detailed.Since.Kind != "review" || detailed.Since.Position != review.ConsideredTo || review.ConsideredTo != review.Position-1 {
		t.Fatalf("since = %+v, want the end of the review's window at %d (review at %d)", detailed.Since, review.ConsideredTo, review.Position)
	}
	var kinds []string
	for _, it := range detailed.Items {
		kinds = append(kinds, it.Change+"/"+it.Trigger)
		if it.Actor != "admin" || it.Position <= review.Position {
			t.Errorf("item %+v: actor or position wrong", it)
		}
	}
	want := []string{"requirement_revised/regulatory_change", "requirement_revised/audit_finding",
		"requirement_revised/periodic_review", "requirement_added/customer_feedback", "party_retired/management_review"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Fatalf("detailed feed (-want +got):\n%s", diff)
	}
	if c := detailed.Items[0].Changes; len(c) != 1 || c[0].Field != "priority" || c[0].From != "high" || c[0].To != "critical" {
		t.Fatalf("first change %+v", c)
	}

	var net changesResp
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?view=net", nil, &net), http.StatusOK)
	kinds = nil
	for _, it := range net.Items {
		var fields []string
		for _, c := range it.Changes {
			fields = append(fields, c.Field)
		}
		if it.Change == "requirement_revised" {
			kinds = append(kinds, it.Change+":"+strings.Join(fields, ","))
		} else {
			kinds = append(kinds, it.Change)
		}
	}
	want = []string{"requirement_revised:description", "requirement_added", "party_retired"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Fatalf("net feed (-want +got):\n%s", diff)
	}

	var all changesResp
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=beginning", nil, &all), http.StatusOK)
	// Every event but the review and the name reservations (bookkeeping,
	// not changes).
	if n, reg := len(all.Items), registerEvents(); n != reg-1 {
		t.Fatalf("feed since beginning has %d items, log has %d register events", n, reg)
	}

	// The register shows active parties with active requirements, as JSON and CSV.
	var reg flowRegister
	mustStatus(t, s.do(t, "GET", "/api/v1/register", nil, &reg), http.StatusOK)
	if len(reg.Parties) != 1 || reg.Parties[0].Name != "Customers" || len(reg.Parties[0].Requirements) != 2 {
		t.Fatalf("register %+v", reg)
	}
	resp = s.do(t, "GET", "/api/v1/register?format=csv", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "party_id" || rows[1][1] != "Customers" {
		t.Fatalf("register CSV %v %v", rows, err)
	}
	return reg
}

// TestHostileInput sends bad requests and checks each status, that the
// answer is a problem document, and that nothing was written.
func TestHostileInput(t *testing.T) {
	s := MustRunServe(t, "")
	var c party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Customers", "category": "customer", "scope": "external"}, &c), http.StatusCreated)
	var rq requirement
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+c.ID+"/requirements", map[string]any{"kind": "requirement", "title": "SLA"}, &rq), http.StatusCreated)
	partyPath := "/api/v1/parties/" + c.ID
	reqPath := partyPath + "/requirements/" + rq.ID

	valid := `{"name":"Regulator","category":"regulator","scope":"external"}`
	cases := []struct {
		name, method, path, body, ctype string
		status                          int
		code, field                     string
	}{
		{"malformed JSON", "POST", "/api/v1/parties", `{"name":`, "", 400, "invalid", ""},
		{"not an object", "POST", "/api/v1/parties", `["a"]`, "", 400, "invalid", ""},
		{"null body", "POST", "/api/v1/parties", `null`, "", 400, "invalid", ""},
		{"unknown field", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","colour":"red"}`, "", 400, "invalid", "colour"},
		{"server-owned id", "POST", "/api/v1/parties", `{"id":"0190f1a2-0000-7000-8000-000000000000","name":"X","category":"customer","scope":"external"}`, "", 400, "invalid", "id"},
		{"server-owned actor", "POST", "/api/v1/parties", `{"actor":"mallory","name":"X","category":"customer","scope":"external"}`, "", 400, "invalid", "actor"},
		{"server-owned version", "PATCH", partyPath, `{"version":9,"name":"Y","reason":"r"}`, "", 400, "invalid", "version"},
		{"oversize", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","description":"` + strings.Repeat("a", 1<<20) + `"}`, "", 413, "too_large", ""},
		{"bad category", "POST", "/api/v1/parties", `{"name":"X","category":"alien","scope":"external"}`, "", 400, "invalid", "category"},
		{"bad scope", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"sideways"}`, "", 400, "invalid", "scope"},
		{"bad trigger", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","trigger":"whim"}`, "", 400, "invalid", "trigger"},
		{"empty name", "POST", "/api/v1/parties", `{"name":"   ","category":"customer","scope":"external"}`, "", 400, "invalid", "name"},
		{"name too long", "POST", "/api/v1/parties", `{"name":"` + strings.Repeat("n", 201) + `","category":"customer","scope":"external"}`, "", 400, "invalid", "name"},
		{"invalid UTF-8", "POST", "/api/v1/parties", "{\"name\":\"\xff\xfe\",\"category\":\"customer\",\"scope\":\"external\"}", "", 400, "invalid", ""},
		{"influence 0", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","influence":0}`, "", 400, "invalid", "influence"},
		{"influence string", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","influence":"high"}`, "", 400, "invalid", "influence"},
		{"influence 2.5", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","influence":2.5}`, "", 400, "invalid", "influence"},
		{"not JSON", "POST", "/api/v1/parties", valid, "text/plain", 415, "unsupported_media_type", ""},
		{"unknown parent", "POST", "/api/v1/parties", `{"name":"X","category":"customer","scope":"external","parent_id":"0190f1a2-0000-7000-8000-000000000000"}`, "", 400, "invalid", "parent_id"},
		{"unknown party", "PATCH", "/api/v1/parties/0190f1a2-0000-7000-8000-000000000000", `{"name":"Y","reason":"r"}`, "", 404, "not_found", ""},
		{"revise without reason", "PATCH", partyPath, `{"name":"Y"}`, "", 400, "invalid", "reason"},
		{"retire without reason", "POST", partyPath + "/retire", `{}`, "", 400, "invalid", "reason"},
		{"bad kind", "POST", partyPath + "/requirements", `{"kind":"wish","title":"T"}`, "", 400, "invalid", "kind"},
		{"bad review_due", "POST", partyPath + "/requirements", `{"kind":"requirement","title":"T","review_due":"31/01/2027"}`, "", 400, "invalid", "review_due"},
		{"duplicate title", "POST", partyPath + "/requirements", `{"kind":"requirement","title":"sla"}`, "", 409, "conflict", "title"},
		{"addressed via PATCH", "PATCH", reqPath, `{"addressed":true,"reason":"r"}`, "", 400, "invalid", "addressed"},
		{"addressing without decision", "POST", reqPath + "/addressing", `{"reason":"r"}`, "", 400, "invalid", "addressed"},
		{"addressed not bool", "POST", reqPath + "/addressing", `{"addressed":"yes","reason":"r"}`, "", 400, "invalid", "addressed"},
		{"controls not list", "POST", reqPath + "/addressing", `{"addressed":true,"controls":"A.5.19","reason":"r"}`, "", 400, "invalid", "controls"},
		{"review without date", "POST", "/api/v1/management-reviews", `{"title":"Q"}`, "", 400, "invalid", "held_on"},
		{"review in the future", "POST", "/api/v1/management-reviews", `{"held_on":"2999-01-01"}`, "", 400, "invalid", "held_on"},
		{"bad since", "GET", "/api/v1/changes?since=yesterday", "", "", 400, "invalid", "since"},
		{"bad view", "GET", "/api/v1/changes?view=fancy", "", "", 400, "invalid", "view"},
		{"unknown review", "GET", "/api/v1/changes?since=review:0190f1a2-0000-7000-8000-000000000000", "", "", 404, "not_found", ""},
		{"wrong method", "DELETE", partyPath, "", "", 405, "method_not_allowed", ""},
		{"unknown route", "GET", "/api/v1/nothing", "", "", 404, "not_found", ""},
		{"bad If-Match", "PATCH", partyPath, `{"name":"Y","reason":"r"}`, "", 412, "precondition_failed", ""},
	}
	before := eventCount(t, s.DB)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.ctype != "" {
				hdr = append(hdr, "Content-Type", tc.ctype)
			}
			if tc.name == "bad If-Match" {
				hdr = append(hdr, "If-Match", `"not-a-version"`)
			}
			var body any
			if tc.body != "" {
				body = tc.body
			}
			var p problem
			resp := s.do(t, tc.method, tc.path, body, &p, hdr...)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%+v)", resp.StatusCode, tc.status, p)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if p.Code != tc.code || p.Status != tc.status {
				t.Errorf("problem code %q status %d, want %q %d", p.Code, p.Status, tc.code, tc.status)
			}
			if tc.field != "" {
				found := false
				for _, e := range p.Errors {
					found = found || e.Field == tc.field
				}
				if !found {
					t.Errorf("problem does not name field %q: %+v", tc.field, p.Errors)
				}
			}
			if n := eventCount(t, s.DB); n != before {
				t.Fatalf("event count changed from %d to %d", before, n)
			}
		})
	}
}
