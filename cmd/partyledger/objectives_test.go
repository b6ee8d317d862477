package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

type kpiView struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Operator    string            `json:"operator"`
	Target      float64           `json:"target"`
	Latest      *measurementView  `json:"latest"`
	MeetsTarget *bool             `json:"meets_target"`
	Trend       []measurementView `json:"trend"`
}

type measurementView struct {
	ID          string  `json:"id"`
	Value       float64 `json:"value"`
	MeasuredAt  string  `json:"measured_at"`
	Corrects    *string `json:"corrects"`
	MeetsTarget bool    `json:"meets_target"`
}

type objectiveView struct {
	ID              string    `json:"id"`
	Version         int64     `json:"version"`
	Title           string    `json:"title"`
	Status          string    `json:"status"`
	Due             string    `json:"due"`
	RequirementIDs  []string  `json:"requirement_ids"`
	KPIs            []kpiView `json:"kpis"`
	KPIsBelowTarget int       `json:"kpis_below_target"`
}

// TestObjectivesFlow drives objectives, KPIs, requirement reviews, the
// communication plan and the log through the real program over HTTP.
func TestObjectivesFlow(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	today := time.Now().UTC()
	day := func(days int) string { return today.AddDate(0, 0, days).Format("2006-01-02") }

	var p party
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Customers", "category": "customer",
		"scope": "external", "owner": "Head of Sales"}, &p), http.StatusCreated)
	var avail, gdpr requirement
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{"kind": "requirement",
		"title": "Monthly availability of 99.9 %", "owner": "Head of SRE", "review_due": day(10)}, &avail), http.StatusCreated)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{"kind": "requirement",
		"title": "GDPR Art. 32", "owner": "DPO", "review_due": day(-1)}, &gdpr), http.StatusCreated)

	// Bad input writes nothing.
	before := eventCount(t, s.DB)
	var pr problem
	mustStatus(t, s.do(t, "POST", "/api/v1/objectives", map[string]any{"title": "X", "owner": "CISO", "due": day(90),
		"requirement_ids": []string{"0190f1a2-0000-7000-8000-000000000000"}}, &pr), http.StatusBadRequest)
	if len(pr.Errors) != 1 || pr.Errors[0].Field != "requirement_ids" {
		t.Errorf("unknown requirement: %+v", pr)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/objectives", map[string]any{"id": "x", "title": "X", "owner": "CISO", "due": day(90)}, &pr),
		http.StatusBadRequest)
	mustStatus(t, s.do(t, "POST", "/api/v1/objectives", map[string]any{"title": "X", "due": "soon"}, &pr), http.StatusBadRequest)
	if got := fieldsOf(pr); got != "due,owner" {
		t.Errorf("fields %s, want due,owner", got)
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("refused requests wrote %d events", n-before)
	}

	// Set an objective and define a KPI.
	var o objectiveView
	resp := s.do(t, "POST", "/api/v1/objectives", map[string]any{"title": "Keep the platform available",
		"description": "As the SLA promises.", "owner": "Head of SRE", "due": day(200), "status": "in_progress",
		"requirement_ids": []string{avail.ID}, "reason": "ISMS plan 2026"}, &o)
	mustStatus(t, resp, http.StatusCreated)
	if resp.Header.Get("ETag") != `"1"` || resp.Header.Get("Location") != "/api/v1/objectives/"+o.ID ||
		o.Status != "in_progress" || len(o.RequirementIDs) != 1 || len(o.KPIs) != 0 {
		t.Errorf("created objective: ETag %s, Location %s, %+v", resp.Header.Get("ETag"), resp.Header.Get("Location"), o)
	}
	var k kpiView
	mustStatus(t, s.do(t, "POST", "/api/v1/objectives/"+o.ID+"/kpis", map[string]any{"name": "Availability",
		"operator": ">=", "target": "high", "frequency": "monthly"}, &pr), http.StatusBadRequest)
	if got := fieldsOf(pr); got != "target" {
		t.Errorf("fields %s, want target", got)
	}
	resp = s.do(t, "POST", "/api/v1/objectives/"+o.ID+"/kpis", map[string]any{"name": "Availability", "unit": "%",
		"operator": ">=", "target": 99.5, "frequency": "monthly"}, &k)
	mustStatus(t, resp, http.StatusCreated)
	if k.ID == "" || k.Target != 99.5 || k.Latest != nil || k.MeetsTarget != nil || resp.Header.Get("ETag") != `"2"` {
		t.Errorf("new KPI: %+v, ETag %s", k, resp.Header.Get("ETag"))
	}
	var raw map[string]any
	s.do(t, "GET", "/api/v1/objectives/"+o.ID+"/kpis/"+k.ID, nil, &raw)
	if v, ok := raw["meets_target"]; !ok || v != nil {
		t.Errorf("meets_target of an unmeasured KPI: %v (present %v), want null", v, ok)
	}

	// A measurement below target, then its correction.
	var m1, m2 measurementView
	kpiPath := "/api/v1/objectives/" + o.ID + "/kpis/" + k.ID + "/measurements"
	mustStatus(t, s.do(t, "POST", kpiPath, map[string]any{"value": 99.2, "measured_at": day(-3)}, &m1), http.StatusCreated)
	if m1.MeetsTarget || m1.MeasuredAt != day(-3)+"T00:00:00Z" {
		t.Errorf("first measurement: %+v", m1)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/objectives/"+o.ID, nil, &o), http.StatusOK)
	if o.KPIs[0].Latest == nil || o.KPIs[0].Latest.Value != 99.2 || o.KPIs[0].MeetsTarget == nil || *o.KPIs[0].MeetsTarget || o.KPIsBelowTarget != 1 {
		t.Errorf("after a value below target: %+v", o.KPIs[0])
	}
	mustStatus(t, s.do(t, "POST", kpiPath, map[string]any{"value": 99.7, "corrects": m1.ID, "reason": "recount"}, &m2), http.StatusCreated)
	mustStatus(t, s.do(t, "POST", kpiPath, map[string]any{"value": 1, "corrects": "0190f1a2-0000-7000-8000-000000000000"}, &pr), http.StatusBadRequest)
	mustStatus(t, s.do(t, "POST", kpiPath, map[string]any{"value": 1, "measured_at": day(5)}, &pr), http.StatusBadRequest)
	resp = s.do(t, "GET", "/api/v1/objectives/"+o.ID, nil, &o)
	mustStatus(t, resp, http.StatusOK)
	got := o.KPIs[0]
	if got.Latest == nil || got.Latest.ID != m2.ID || got.Latest.Value != 99.7 || got.Latest.MeasuredAt != m1.MeasuredAt ||
		got.MeetsTarget == nil || !*got.MeetsTarget || len(got.Trend) != 1 || o.KPIsBelowTarget != 0 {
		t.Errorf("after the correction: %+v", got)
	}

	// Re-target with If-Match.
	etag := resp.Header.Get("ETag")
	mustStatus(t, s.do(t, "PATCH", "/api/v1/objectives/"+o.ID, map[string]any{"status": "at_risk", "reason": "x"}, &pr,
		"If-Match", `"1"`), http.StatusPreconditionFailed)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/objectives/"+o.ID, map[string]any{"status": "at_risk"}, &pr), http.StatusBadRequest)
	mustStatus(t, s.do(t, "PATCH", "/api/v1/objectives/"+o.ID, map[string]any{"status": "at_risk", "due": day(300),
		"reason": "backlog of changes", "trigger": "risk_assessment"}, &o, "If-Match", etag), http.StatusOK)
	if o.Status != "at_risk" || o.Due != day(300) {
		t.Errorf("re-targeted: %+v", o)
	}
	var list struct{ Objectives []objectiveView }
	mustStatus(t, s.do(t, "GET", "/api/v1/objectives?status=at_risk", nil, &list), http.StatusOK)
	if len(list.Objectives) != 1 {
		t.Errorf("at-risk objectives: %+v", list)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/objectives?status=late", nil, &pr), http.StatusBadRequest)
	mustStatus(t, s.do(t, "GET", "/api/v1/objectives/0190f1a2-0000-7000-8000-000000000000", nil, &pr), http.StatusNotFound)

	// Open gaps: GDPR has neither a control nor an objective.
	var gaps struct {
		Gaps []struct {
			Requirement struct{ ID string }
		}
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/gaps", nil, &gaps), http.StatusOK)
	if len(gaps.Gaps) != 1 || gaps.Gaps[0].Requirement.ID != gdpr.ID {
		t.Errorf("gaps: %+v", gaps)
	}

	// Reviews due: GDPR is overdue, availability due within 30 days.
	type dueResp struct {
		Overdue int `json:"overdue"`
		DueSoon int `json:"due_soon"`
		Owners  []struct {
			Owner   string
			Reviews []struct {
				Requirement struct{ ID string }
				Overdue     bool
			}
		}
	}
	var due dueResp
	mustStatus(t, s.do(t, "GET", "/api/v1/reviews/due?within=30d", nil, &due), http.StatusOK)
	if len(due.Owners) != 2 || due.Owners[0].Owner != "DPO" || !due.Owners[0].Reviews[0].Overdue ||
		due.Owners[1].Owner != "Head of SRE" || due.Owners[1].Reviews[0].Overdue {
		t.Errorf("reviews due: %+v", due)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/reviews/due?within=5d", nil, &due), http.StatusOK)
	if len(due.Owners) != 1 {
		t.Errorf("reviews due within 5 days: %+v", due)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/reviews/due?within=a+month", nil, &pr), http.StatusBadRequest)

	// Review GDPR: changed, so revised and reviewed in one append.
	reviewPath := "/api/v1/parties/" + p.ID + "/requirements/" + gdpr.ID + "/reviews"
	before = eventCount(t, s.DB)
	mustStatus(t, s.do(t, "POST", reviewPath, map[string]any{"outcome": "changed", "next_review_due": day(180),
		"reason": "new guidance"}, &pr), http.StatusBadRequest)
	mustStatus(t, s.do(t, "POST", reviewPath, map[string]any{"outcome": "unchanged", "next_review_due": "2026-02-30"}, &pr), http.StatusBadRequest)
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("refused reviews wrote %d events", n-before)
	}
	var rv struct {
		Review struct {
			Outcome       string
			NextReviewDue *string `json:"next_review_due"`
			Trigger       string
		}
		Requirement struct {
			Priority  string
			ReviewDue *string `json:"review_due"`
		}
	}
	resp = s.do(t, "POST", reviewPath, map[string]any{"outcome": "changed", "notes": "EDPB guidance 2026",
		"next_review_due": day(180), "priority": "critical", "reason": "new guidance"}, &rv)
	mustStatus(t, resp, http.StatusCreated)
	if n := eventCount(t, s.DB); n != before+2 {
		t.Errorf("a changed review appended %d events, want 2", n-before)
	}
	if rv.Review.Outcome != "changed" || rv.Review.Trigger != "periodic_review" || rv.Requirement.Priority != "critical" ||
		rv.Requirement.ReviewDue == nil || *rv.Requirement.ReviewDue != day(180) {
		t.Errorf("review: %+v", rv)
	}
	var pp party
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+p.ID, nil, &pp), http.StatusOK)
	if resp.Header.Get("ETag") != `"5"` || pp.Version != 5 {
		t.Errorf("party after the review: ETag %s, version %d, want 5", resp.Header.Get("ETag"), pp.Version)
	}

	// The communication plan and log.
	planPath := "/api/v1/parties/" + p.ID + "/communication-plan"
	var entry struct {
		ID        string
		Frequency *string
		NextDue   *string `json:"next_due"`
		LastSent  *string `json:"last_sent"`
		Overdue   bool
	}
	mustStatus(t, s.do(t, "POST", planPath, map[string]any{"topic": "Security newsletter", "when": "monthly",
		"channel": "email", "communicator": "DPO", "priority": "low"}, &entry, "If-Match", `"5"`), http.StatusCreated)
	if entry.Frequency == nil || *entry.Frequency != "monthly" || entry.NextDue == nil || entry.Overdue {
		t.Errorf("plan entry: %+v", entry)
	}
	mustStatus(t, s.do(t, "POST", planPath, map[string]any{"topic": "Security incidents", "when": "within 24 h",
		"channel": "pigeon", "communicator": "CISO"}, &pr), http.StatusBadRequest)
	var sent struct {
		ID      string
		Channel string
		Topic   *string
		Party   struct{ ID string }
	}
	resp = s.do(t, "POST", "/api/v1/communications", map[string]any{"party_id": p.ID, "plan_entry_id": entry.ID,
		"sent_by": "DPO", "summary": "March newsletter", "evidence_ref": "https://example.com/nl/3", "sent_at": day(-40)}, &sent)
	mustStatus(t, resp, http.StatusCreated)
	if sent.Channel != "email" || sent.Topic == nil || *sent.Topic != "Security newsletter" || sent.Party.ID != p.ID ||
		resp.Header.Get("Location") != "/api/v1/communications/"+sent.ID {
		t.Errorf("sent: %+v", sent)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/communications", map[string]any{"party_id": "0190f1a2-0000-7000-8000-000000000000",
		"channel": "email", "sent_by": "DPO", "summary": "x"}, &pr), http.StatusBadRequest)
	if got := fieldsOf(pr); got != "party_id" {
		t.Errorf("unknown party: fields %s", got)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/communications", map[string]any{"party_id": p.ID, "id": "x",
		"channel": "email", "sent_by": "DPO", "summary": "x"}, &pr), http.StatusBadRequest)
	var plan struct{ Entries []struct{ Overdue bool } }
	mustStatus(t, s.do(t, "GET", planPath, nil, &plan), http.StatusOK)
	if len(plan.Entries) != 1 || !plan.Entries[0].Overdue {
		t.Errorf("plan after a communication 40 days ago: %+v", plan)
	}
	var log struct{ Communications []struct{ ID string } }
	mustStatus(t, s.do(t, "GET", "/api/v1/communications?party_id="+p.ID, nil, &log), http.StatusOK)
	if len(log.Communications) != 1 || log.Communications[0].ID != sent.ID {
		t.Errorf("log: %+v", log)
	}
	var overdue struct{ Overdue []struct{ ID string } }
	mustStatus(t, s.do(t, "GET", "/api/v1/communications?overdue=true", nil, &overdue), http.StatusOK)
	if len(overdue.Overdue) != 1 || overdue.Overdue[0].ID != entry.ID {
		t.Errorf("overdue: %+v", overdue)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/communications?overdue=true&date="+day(-35), nil, &overdue), http.StatusOK)
	if len(overdue.Overdue) != 0 {
		t.Errorf("overdue 35 days ago: %+v", overdue)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/communications?overdue=maybe", nil, &pr), http.StatusBadRequest)

	// The change feed shows all of it; objective items name no party.
	resp = s.do(t, "GET", "/api/v1/changes?since=beginning", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	var feed struct{ Items []map[string]any }
	if err := json.NewDecoder(resp.Body).Decode(&feed); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, it := range feed.Items {
		kinds[it["change"].(string)]++
		_, hasParty := it["party"]
		_, hasObjective := it["objective"]
		if hasParty == hasObjective {
			t.Errorf("item %v: party %v, objective %v", it["position"], hasParty, hasObjective)
		}
	}
	for _, want := range []string{"objective_added", "kpi_defined", "kpi_below_target", "objective_revised",
		"requirement_reviewed", "communication_planned", "communication_sent"} {
		if kinds[want] != 1 {
			t.Errorf("%d %s items; all: %v", kinds[want], want, kinds)
		}
	}
	var net struct {
		Items []struct {
			Change    string
			Objective *struct{ ID string }
		}
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since=beginning&view=net", nil, &net), http.StatusOK)
	objectiveItems := 0
	for _, it := range net.Items {
		if it.Objective != nil {
			objectiveItems++
		}
	}
	if objectiveItems != 2 { // the objective, its KPI
		t.Errorf("net view has %d objective items: %+v", objectiveItems, net.Items)
	}

	// The CLI reads the same database (with its own read model file).
	rm := filepath.Join(t.TempDir(), "cli.readmodel.db")
	out, code := runCLI(t, "objectives", "list", "--db", s.DB, "--read-model", rm, "--format", "json")
	var cli struct{ Objectives []objectiveView }
	if code != 0 || json.Unmarshal([]byte(out), &cli) != nil || len(cli.Objectives) != 1 || cli.Objectives[0].Status != "at_risk" {
		t.Errorf("objectives list: exit %d, %s", code, out)
	}
	out, code = runCLI(t, "reviews", "due", "--db", s.DB, "--read-model", rm, "--within", "30d", "--format", "table")
	if code != 0 || !strings.Contains(out, "Monthly availability of 99.9 %") || strings.Contains(out, "GDPR") {
		t.Errorf("reviews due: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, "communications", "overdue", "--db", s.DB, "--read-model", rm, "--format", "table")
	if code != 0 || !strings.HasPrefix(out, "DUE ") || !strings.Contains(out, "Security newsletter") {
		t.Errorf("communications overdue: exit %d\n%s", code, out)
	}
	out, code = runCLI(t, "objectives", "gaps", "--db", s.DB, "--read-model", rm, "--format", "table")
	if code != 0 || !strings.HasPrefix(out, "PARTY ") || !strings.Contains(out, "GDPR") {
		t.Errorf("gaps: exit %d\n%s", code, out)
	}
	// The same lists in the CLI's other formats (cliformat.go): csv and
	// jsonl rows, a file whose extension picks the format, json when piped,
	// and the one error for an unknown format.
	dir := t.TempDir()
	for _, tc := range []struct {
		args       []string
		wantPrefix string
		want       string
	}{
		{[]string{"objectives", "list", "--format", "csv"}, "objective_id,objective,owner,due,status,kpi_id,kpi,", "Keep the platform available"},
		{[]string{"objectives", "list", "--format", "jsonl"}, `{"id":"`, `"kpis":[`},
		{[]string{"objectives", "gaps", "--format", "csv"}, "party,requirement,kind,owner,priority,addressed,party_id,requirement_id\n", "GDPR"},
		{[]string{"reviews", "due", "--within", "30d", "--format", "csv"}, "kind,owner,due,overdue,id,title,", "requirement_review,"},
		{[]string{"reviews", "due", "--within", "30d", "--format", "jsonl"}, `{"kind":"requirement_review",`, "Monthly availability of 99.9 %"},
		{[]string{"reviews", "due", "--within", "30d"}, "{\n", `"owners": [`},
		{[]string{"communications", "overdue", "--format", "csv"}, "due,party,topic,when,channel,communicator,last_sent,id\n", "Security newsletter"},
		{[]string{"communications", "overdue"}, "{\n", `"overdue": [`},
		{[]string{"communications", "log", "--format", "jsonl"}, `{"id":"` + sent.ID, ""},
	} {
		out, code := runCLI(t, append(tc.args, "--db", s.DB, "--read-model", rm)...)
		if code != 0 || !strings.HasPrefix(out, tc.wantPrefix) || !strings.Contains(out, tc.want) {
			t.Errorf("%s: exit %d, want a start %q and %q:\n%s", strings.Join(tc.args, " "), code, tc.wantPrefix, tc.want, out)
		}
	}
	file := filepath.Join(dir, "log.csv")
	if out, code := runCLI(t, "communications", "log", "--db", s.DB, "--read-model", rm, "--output", file); code != 0 || out != "" {
		t.Errorf("communications log --output: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(file); !strings.HasPrefix(string(b), "sent,party,topic,channel,sent_by,evidence,id\n") || !strings.Contains(string(b), sent.ID) {
		t.Errorf("communications log --output log.csv:\n%s", b)
	}
	for _, args := range [][]string{{"objectives", "list", "--format", "xml"}, {"reviews", "due", "--output", filepath.Join(dir, "due.xlsx")}} {
		out, code := runCLI(t, append(args, "--db", s.DB, "--read-model", rm)...)
		if code == 0 || !strings.Contains(out, "want table, json, jsonl or csv") && !strings.Contains(out, `unknown extension ".xlsx"`) {
			t.Errorf("%s: exit %d, want the one format error:\n%s", strings.Join(args, " "), code, out)
		}
	}
	// With serve's own read model, caught up, read as it stands.
	s.stop()
	out, code = runCLI(t, "communications", "log", "--db", s.DB, "--format", "json")
	if code != 0 || !strings.Contains(out, sent.ID) {
		t.Errorf("communications log: exit %d\n%s", code, out)
	}
}

// fieldsOf lists a problem's fields, sorted, comma-separated.
func fieldsOf(p problem) string {
	var fs []string
	for _, e := range p.Errors {
		fs = append(fs, e.Field)
	}
	slices.Sort(fs)
	return strings.Join(fs, ",")
}
