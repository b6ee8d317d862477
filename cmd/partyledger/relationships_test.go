package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type relationshipView struct {
	ID            string `json:"id"`
	Version       int64  `json:"version"`
	FromPartyID   string `json:"from_party_id"`
	FromPartyName string `json:"from_party_name"`
	ToPartyID     string `json:"to_party_id"`
	Kind          string `json:"kind"`
	Label         string `json:"label"`
	Description   string `json:"description"`
	Status        string `json:"status"`
	OnMap         bool   `json:"on_map"`
}

// TestRelationshipsFlow drives relationships and the diagrams through the
// real program over HTTP: every route, every refusal (with nothing
// written), and retirement dropping a relationship off the map.
func TestRelationshipsFlow(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	mk := func(name, category, scope string) string {
		var p party
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": name, "category": category,
			"scope": scope, "owner": "CISO"}, &p), http.StatusCreated)
		return p.ID
	}
	cloud := mk("Cloud hosting provider", "supplier", "external")
	customers := mk("Customers", "customer", "external")
	rival := mk("Rival Cloud", "competitor", "external")
	gone := mk("Former reseller", "partner", "external")
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+gone+"/retire", map[string]any{"reason": "contract ended"}, nil), http.StatusOK)

	var hosts relationshipView
	resp := s.do(t, "POST", "/api/v1/relationships", map[string]any{"from_party_id": cloud, "to_party_id": customers,
		"kind": "other", "label": "hosts customer data", "description": "EU regions", "reason": "mapping",
		"trigger": "risk_assessment"}, &hosts)
	mustStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("ETag") != `"1"` || resp.Header.Get("Location") != "/api/v1/relationships/"+hosts.ID {
		t.Errorf("ETag %q, Location %q", resp.Header.Get("ETag"), resp.Header.Get("Location"))
	}
	if hosts.FromPartyID != cloud || hosts.ToPartyID != customers || hosts.Kind != "other" ||
		hosts.Label != "hosts customer data" || hosts.Version != 1 || hosts.Status != "active" || !hosts.OnMap {
		t.Errorf("created: %+v", hosts)
	}
	var competes relationshipView
	mustStatus(t, s.do(t, "POST", "/api/v1/relationships", map[string]any{"from_party_id": rival, "to_party_id": cloud,
		"kind": "competes_with"}, &competes), http.StatusCreated)

	// Refusals write nothing.
	before := eventCount(t, s.DB)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"unknown kind", map[string]any{"from_party_id": cloud, "to_party_id": customers, "kind": "loves"}, 400, "invalid", "kind"},
		{"other without label", map[string]any{"from_party_id": cloud, "to_party_id": customers, "kind": "other"}, 400, "invalid", "label"},
		{"from = to", map[string]any{"from_party_id": cloud, "to_party_id": cloud, "kind": "supplies"}, 400, "invalid", "to_party_id"},
		{"retired party", map[string]any{"from_party_id": gone, "to_party_id": customers, "kind": "represents"}, 400, "invalid", "from_party_id"},
		{"malformed party id", map[string]any{"from_party_id": "acme", "to_party_id": customers, "kind": "supplies"}, 400, "invalid", "from_party_id"},
		{"unknown party", map[string]any{"from_party_id": cloud, "to_party_id": "0190f1a2-0000-7000-8000-000000000000", "kind": "supplies"}, 404, "not_found", "to_party_id"},
		{"duplicate", map[string]any{"from_party_id": rival, "to_party_id": cloud, "kind": "competes_with"}, 409, "conflict", "kind"},
		{"server-owned field", map[string]any{"from_party_id": cloud, "to_party_id": customers, "kind": "supplies", "status": "active"}, 400, "invalid", "status"},
		{"bad trigger", map[string]any{"from_party_id": cloud, "to_party_id": customers, "kind": "supplies", "trigger": "whim"}, 400, "invalid", "trigger"},
	} {
		var pr problem
		resp := s.do(t, "POST", "/api/v1/relationships", tc.body, &pr)
		if resp.StatusCode != tc.status || pr.Code != tc.code || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s %q, want %d %s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"), pr.Code, tc.status, tc.code)
			continue
		}
		if len(pr.Errors) == 0 || pr.Errors[0].Field != tc.field {
			t.Errorf("%s: errors %+v, want field %s", tc.name, pr.Errors, tc.field)
		}
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("refused requests wrote %d events", n-before)
	}

	// Read.
	var list struct {
		Relationships []relationshipView `json:"relationships"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships?party_id="+customers, nil, &list), http.StatusOK)
	if len(list.Relationships) != 1 || list.Relationships[0].ID != hosts.ID || list.Relationships[0].FromPartyName != "Cloud hosting provider" {
		t.Errorf("by party: %+v", list.Relationships)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships?kind=competes_with", nil, &list), http.StatusOK)
	if len(list.Relationships) != 1 || list.Relationships[0].ID != competes.ID {
		t.Errorf("by kind: %+v", list.Relationships)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships?status=sleeping", nil, nil), http.StatusBadRequest)
	// A party shows its relationships in both directions.
	var withRels struct {
		ID            string             `json:"id"`
		Relationships []relationshipView `json:"relationships"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+cloud, nil, &withRels), http.StatusOK)
	if withRels.ID != cloud || len(withRels.Relationships) != 2 ||
		withRels.Relationships[0].ID != hosts.ID || withRels.Relationships[1].ID != competes.ID {
		t.Errorf("party with relationships: %+v", withRels)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships/0190f1a2-0000-7000-8000-000000000000", nil, nil), http.StatusNotFound)

	// A management review: the map can show what changed since.
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": "2025-01-15"}, nil), http.StatusCreated)

	// Revise with If-Match.
	before = eventCount(t, s.DB)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/relationships/"+hosts.ID, map[string]any{"label": "x", "reason": "r"}, nil,
		"If-Match", `"7"`), http.StatusPreconditionFailed)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/relationships/"+hosts.ID, map[string]any{"kind": "other", "label": "", "reason": "r"}, nil),
		http.StatusBadRequest)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/relationships/"+hosts.ID, map[string]any{"description": "all regions"}, nil),
		http.StatusBadRequest) // reason required
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("refused revisions wrote %d events", n-before)
	}
	var revised relationshipView
	resp = s.do(t, "PATCH", "/api/v1/relationships/"+hosts.ID, map[string]any{"kind": "supplies", "label": "hosting",
		"reason": "the contract says supplies"}, &revised, "If-Match", `"1"`)
	mustStatus(t, resp, http.StatusOK)
	if revised.Kind != "supplies" || revised.Label != "hosting" || revised.Version != 2 || resp.Header.Get("ETag") != `"2"` {
		t.Errorf("revised: %+v, ETag %s", revised, resp.Header.Get("ETag"))
	}
	atRevised := eventCount(t, s.DB) // the SQLite log is gap-free: the head position

	// Diagrams.
	get := func(path string) (*http.Response, string) {
		resp := s.do(t, "GET", path, nil, nil)
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, svg := get("/api/v1/diagrams/relationships?format=svg")
	mustStatus(t, resp, http.StatusOK)
	if resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("svg content type %q", resp.Header.Get("Content-Type"))
	}
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Errorf("svg does not parse: %v", err)
	}
	for _, want := range []string{">Cloud hosting provider<", ">Customers<", ">Rival Cloud<", "supplies: hosting", "competes with"} {
		if !strings.Contains(svg, want) {
			t.Errorf("map lacks %q", want)
		}
	}
	if strings.Contains(svg, "Former reseller") {
		t.Error("the map shows a retired party")
	}
	resp, dot := get("/api/v1/diagrams/relationships?format=dot&party_id=" + rival)
	mustStatus(t, resp, http.StatusOK)
	if !strings.Contains(dot, `label="Rival Cloud"`) || !strings.Contains(dot, `label="Cloud hosting provider"`) ||
		strings.Contains(dot, `label="Customers"`) {
		t.Errorf("party_id filter: %s", dot)
	}
	if path, err := exec.LookPath("dot"); err == nil {
		cmd := exec.Command(path, "-Tsvg")
		cmd.Stdin = strings.NewReader(dot)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("dot: %v %s", err, out)
		}
	}
	resp, mmd := get("/api/v1/diagrams/relationships?format=mermaid&category=customer")
	mustStatus(t, resp, http.StatusOK)
	if !strings.HasPrefix(strings.SplitN(mmd, "\n", 2)[1], "flowchart LR") || !strings.Contains(mmd, `"Customers"`) ||
		strings.Contains(mmd, "Rival Cloud") {
		t.Errorf("mermaid with category: %s", mmd)
	}
	resp, grid := get("/api/v1/diagrams/power-interest")
	mustStatus(t, resp, http.StatusOK)
	if !strings.Contains(grid, "MANAGE CLOSELY") || !strings.Contains(grid, ">Rival Cloud<") {
		t.Errorf("grid lacks quadrants or names")
	}
	for _, bad := range []string{"/api/v1/diagrams/relationships?format=png", "/api/v1/diagrams/relationships?as_of=2025-01-01",
		"/api/v1/diagrams/relationships?as_of=position:1&since=last-review",
		"/api/v1/diagrams/relationships?category=martians", "/api/v1/diagrams/power-interest?format=dot"} {
		mustStatus(t, s.do(t, "GET", bad, nil, nil), http.StatusBadRequest)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/diagrams/relationships?party_id="+gone, nil, nil), http.StatusNotFound)

	// End; ending twice is a conflict.
	var ended relationshipView
	mustStatus(t, s.do(t, "POST", "/api/v1/relationships/"+hosts.ID+"/end", map[string]any{"reason": "moved provider"}, &ended), http.StatusOK)
	if ended.Status != "ended" || ended.OnMap {
		t.Errorf("ended: %+v", ended)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/relationships/"+hosts.ID+"/end", map[string]any{"reason": "again"}, nil), http.StatusConflict)

	// Since the review: one added, one ended (hosts was revised, then ended).
	var dep relationshipView
	mustStatus(t, s.do(t, "POST", "/api/v1/relationships", map[string]any{"from_party_id": customers, "to_party_id": cloud,
		"kind": "depends_on"}, &dep), http.StatusCreated)
	resp, mmd = get("/api/v1/diagrams/relationships?format=mermaid&since=last-review")
	mustStatus(t, resp, http.StatusOK)
	for _, want := range []string{`"added: depends on"`, `"ended: supplies: hosting"`, `"competes with"`} {
		if !strings.Contains(mmd, want) {
			t.Errorf("since the review: lacks %s in\n%s", want, mmd)
		}
	}
	resp, svg = get("/api/v1/diagrams/relationships?since=last-review")
	mustStatus(t, resp, http.StatusOK)
	if !strings.Contains(svg, "since the review: 1 added, 0 changed, 1 ended") {
		t.Errorf("svg since the review lacks the summary")
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/diagrams/relationships?since=beginning", nil, nil), http.StatusBadRequest)
	mustStatus(t, s.do(t, "GET", "/api/v1/diagrams/relationships?since=review:0190f1a2-0000-7000-8000-000000000000", nil, nil), http.StatusNotFound)
	mustStatus(t, s.do(t, "POST", "/api/v1/relationships/"+dep.ID+"/end", map[string]any{"reason": "not a dependency"}, nil), http.StatusOK)

	// As of the revision, the map and the party still show the ended
	// relationship as it was then.
	asOf := fmt.Sprintf("as_of=position:%d", atRevised)
	resp, mmd = get("/api/v1/diagrams/relationships?format=mermaid&" + asOf)
	mustStatus(t, resp, http.StatusOK)
	if !strings.Contains(mmd, `"supplies: hosting"`) || strings.Contains(mmd, "depends on") {
		t.Errorf("map as of the revision:\n%s", mmd)
	}
	resp, grid = get("/api/v1/diagrams/power-interest?as_of=position:1")
	mustStatus(t, resp, http.StatusOK)
	if !strings.Contains(grid, ">Cloud hosting provider<") || strings.Contains(grid, ">Customers<") {
		t.Errorf("grid as of the first event lacks the first party or shows a later one")
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+customers+"?"+asOf, nil, &withRels), http.StatusOK)
	if len(withRels.Relationships) != 1 || withRels.Relationships[0].ID != hosts.ID || withRels.Relationships[0].Label != "hosting" {
		t.Errorf("party as of the revision: %+v", withRels.Relationships)
	}
	withRels.Relationships = nil
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+customers, nil, &withRels), http.StatusOK)
	if len(withRels.Relationships) != 0 {
		t.Errorf("party now: %+v", withRels.Relationships)
	}
	// The change feed carries the relationships, detailed and net.
	var feed struct {
		Items []struct {
			Change       string `json:"change"`
			Relationship *struct {
				ID            string `json:"id"`
				FromPartyName string `json:"from_party_name"`
			} `json:"relationship"`
		} `json:"items"`
	}
	var changes []string
	for _, view := range []string{"detailed", "net"} {
		mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=last-review&view="+view, nil, &feed), http.StatusOK)
		for _, it := range feed.Items {
			if it.Relationship != nil {
				changes = append(changes, view+" "+it.Change+" "+it.Relationship.FromPartyName)
			}
		}
	}
	wantChanges := []string{"detailed relationship_revised Cloud hosting provider",
		"detailed relationship_ended Cloud hosting provider", "detailed relationship_established Customers",
		"detailed relationship_ended Customers", "net relationship_ended Cloud hosting provider",
		"net relationship_established_and_ended Customers"}
	if strings.Join(changes, "\n") != strings.Join(wantChanges, "\n") {
		t.Errorf("relationship items since the review:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(wantChanges, "\n"))
	}

	// Retiring a party drops its relationships off the current map; the
	// relationship itself stays, with its history.
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+rival+"/retire", map[string]any{"reason": "left the market"}, nil), http.StatusOK)
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships", nil, &list), http.StatusOK)
	if len(list.Relationships) != 0 {
		t.Errorf("current map after retirement: %+v", list.Relationships)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships?status=all", nil, &list), http.StatusOK)
	if len(list.Relationships) != 3 {
		t.Errorf("all: %+v", list.Relationships)
	}
	var c relationshipView
	mustStatus(t, s.do(t, "GET", "/api/v1/relationships/"+competes.ID, nil, &c), http.StatusOK)
	if c.Status != "active" || c.OnMap {
		t.Errorf("relationship of a retired party: %+v", c)
	}
	// Its relationships can no longer change, only end.
	mustStatus(t, s.do(t, "PATCH", "/api/v1/relationships/"+competes.ID, map[string]any{"label": "x", "reason": "r"}, nil), http.StatusConflict)
	mustStatus(t, s.do(t, "POST", "/api/v1/relationships/"+competes.ID+"/end", map[string]any{"reason": "tidy"}, nil), http.StatusOK)

	// The CLI's history, read from the file, is the API's: a party's own
	// events and those of its relationships in either direction.
	for _, id := range []string{cloud, customers, rival} {
		var api any
		mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+id+"/history", nil, &api), http.StatusOK)
		out, code := runCLI(t, "audit", "history", id, "--db", s.DB, "--format", "json")
		var cli any
		if code != 0 || json.Unmarshal([]byte(out), &cli) != nil {
			t.Fatalf("audit history %s: exit %d %s", id, code, out)
		}
		if diff := cmp.Diff(api, cli); diff != "" {
			t.Errorf("CLI history of %s (-api +cli):\n%s", id, diff)
		}
	}
	out, code := runCLI(t, "audit", "history", cloud, "--db", s.DB, "--format", "table")
	for _, want := range []string{"relationship_established  relationship: Cloud hosting provider hosts customer data Customers",
		"relationship_established  relationship: Rival Cloud competes with Cloud hosting provider",
		"relationship_ended  relationship: Rival Cloud competes with Cloud hosting provider"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("audit history table lacks %q (exit %d):\n%s", want, code, out)
		}
	}
}
