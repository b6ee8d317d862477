package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type reviewJSON struct {
	ID             string   `json:"id"`
	HeldOn         string   `json:"held_on"`
	Title          string   `json:"title"`
	Version        int64    `json:"version"`
	Position       int64    `json:"position"`
	ConsideredFrom *int64   `json:"considered_from"`
	ConsideredTo   int64    `json:"considered_to"`
	Decisions      []string `json:"decisions"`
	Status         string   `json:"status"`
	Late           bool     `json:"late"`
	Notice         string   `json:"notice"`
	Actions        []struct {
		ID     string `json:"id"`
		Title  string `json:"title"`
		Status string `json:"status"`
	} `json:"actions"`
}

type problemJSON struct {
	Code   string `json:"code"`
	Errors []struct {
		Field string `json:"field"`
	} `json:"errors"`
}

// changesSince returns the party names of GET /api/v1/changes?since=.
func changesSince(t *testing.T, s *testServer, since string) []string {
	t.Helper()
	var out struct {
		Items []struct {
			Party struct {
				Name string `json:"name"`
			} `json:"party"`
		} `json:"items"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/changes?since="+since, nil, &out), http.StatusOK)
	var names []string
	for _, it := range out.Items {
		names = append(names, it.Party.Name)
	}
	return names
}

// TestReviewLifecycleHTTP runs the review window, the late-review
// regression, corrections, voids, actions and settings through the real
// server.
func TestReviewLifecycleHTTP(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	today := time.Now().UTC()
	day := func(d int) string { return today.AddDate(0, 0, d).Format("2006-01-02") }
	party := func(name string) {
		t.Helper()
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": name, "category": "customer",
			"scope": "external"}, nil), http.StatusCreated)
	}

	party("Acme Bank")
	var q reviewJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": day(0),
		"decisions": []string{"Keep the scope."},
		"actions":   []map[string]string{{"title": "Update SoA", "owner": "CISO", "due_on": day(-1)}, {"title": "Train staff", "owner": "HR", "due_on": day(30)}},
	}, &q), http.StatusCreated)
	// One create is two events: the party and its name claim.
	if q.ConsideredFrom == nil || *q.ConsideredFrom != 0 || q.ConsideredTo != 2 || q.Late || q.Notice != "" ||
		len(q.Actions) != 2 || q.Actions[0].ID == "" || q.Actions[0].Status != "open" || q.Decisions[0] != "Keep the scope." {
		t.Fatalf("review = %+v", q)
	}
	party("Regulator")
	party("Staff")
	want := "Regulator,Staff"
	if got := strings.Join(changesSince(t, s, "last-review"), ","); got != want {
		t.Fatalf("changes since the review = %s, want %s", got, want)
	}

	// The late review: refused without its window, and nothing written.
	before := eventCount(t, s.DB)
	var p problemJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": day(-30)}, &p), http.StatusBadRequest)
	if len(p.Errors) == 0 || p.Errors[0].Field != "considered_from" {
		t.Errorf("late review problem = %+v", p)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": day(-30),
		"considered_from": "position:0", "considered_to": "review:nope"}, &p), http.StatusBadRequest)
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("refused reviews wrote %d events", n-before)
	}
	var late reviewJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": day(-30),
		"considered_from": 0, "considered_to": "review:" + q.ID}, &late), http.StatusCreated)
	if !late.Late || late.Notice == "" || late.ConsideredTo != 2 {
		t.Errorf("late review = %+v", late)
	}
	// The regression: the late review does not hide the changes.
	if got := strings.Join(changesSince(t, s, "last-review"), ","); got != want {
		t.Errorf("changes since the last review after a late one = %s, want %s", got, want)
	}

	// History is never edited.
	for _, m := range []string{"PATCH", "DELETE"} {
		mustStatus(t, s.do(t, m, "/api/v1/management-reviews/"+q.ID, map[string]any{"title": "x"}, nil), http.StatusMethodNotAllowed)
	}
	// Corrections and voids are events.
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+late.ID+"/corrections", map[string]any{"title": "January"}, &p), http.StatusBadRequest)
	var corrected reviewJSON
	resp := s.do(t, "POST", "/api/v1/management-reviews/"+late.ID+"/corrections",
		map[string]any{"title": "January review", "considered_to": "position:5", "reason": "Typed the window wrong."}, &corrected)
	mustStatus(t, resp, http.StatusOK)
	if corrected.Title != "January review" || corrected.ConsideredTo != 5 || corrected.Version != 2 || resp.Header.Get("ETag") != `"2"` {
		t.Errorf("corrected review = %+v (ETag %s)", corrected, resp.Header.Get("ETag"))
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+q.ID+"/void", map[string]any{"reason": "Wrong quarter."},
		nil, "If-Match", `"7"`), http.StatusPreconditionFailed)
	var voided reviewJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+q.ID+"/void", map[string]any{"reason": "Wrong quarter."}, &voided), http.StatusOK)
	if voided.Status != "voided" {
		t.Errorf("voided review = %+v", voided)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+q.ID+"/void", map[string]any{"reason": "again"}, nil), http.StatusConflict)
	// The voided review no longer bounds the window: January (to position 5, after Regulator and its name claim) does.
	if got := strings.Join(changesSince(t, s, "last-review"), ","); got != "Staff" {
		t.Errorf("changes since the last review after the void = %s, want Staff", got)
	}
	var hist struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/events?stream=review-"+q.ID, nil, &hist), http.StatusOK)
	if len(hist.Events) != 2 || hist.Events[1].Type != "management_review.voided" {
		t.Errorf("history of the voided review = %+v", hist)
	}

	// Actions of a review that is not void.
	var r2 reviewJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": day(0),
		"actions": []map[string]string{{"title": "Update SoA", "owner": "CISO", "due_on": day(-1)}, {"title": "Train staff", "owner": "HR", "due_on": day(30)}},
	}, &r2), http.StatusCreated)
	base := "/api/v1/management-reviews/" + r2.ID + "/actions/"
	mustStatus(t, s.do(t, "POST", base+r2.Actions[1].ID+"/complete", map[string]any{}, nil), http.StatusBadRequest)
	var done struct {
		Status, Evidence string
	}
	mustStatus(t, s.do(t, "POST", base+r2.Actions[1].ID+"/complete", map[string]any{"evidence": "LMS report"}, &done), http.StatusOK)
	if done.Status != "done" || done.Evidence != "LMS report" {
		t.Errorf("completed action = %+v", done)
	}
	mustStatus(t, s.do(t, "POST", base+r2.Actions[1].ID+"/cancel", map[string]any{"reason": "x"}, nil), http.StatusConflict)
	mustStatus(t, s.do(t, "POST", base+"01975f2c-0000-7000-8000-0000000000ff/complete", map[string]any{"evidence": "x"}, nil), http.StatusNotFound)
	list := func(status string) []string {
		t.Helper()
		var out struct {
			Actions []struct {
				Title, Status string
				Overdue       bool
			} `json:"actions"`
		}
		mustStatus(t, s.do(t, "GET", "/api/v1/actions?status="+status, nil, &out), http.StatusOK)
		var got []string
		for _, a := range out.Actions {
			got = append(got, a.Title+"/"+a.Status)
		}
		return got
	}
	if got := strings.Join(list("open"), ","); got != "Update SoA/open" {
		t.Errorf("open actions = %s", got)
	}
	if got := strings.Join(list("overdue"), ","); got != "Update SoA/open" {
		t.Errorf("overdue actions = %s", got)
	}
	if got := strings.Join(list("done"), ","); got != "Train staff/done" {
		t.Errorf("done actions = %s", got)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/actions?status=late", nil, nil), http.StatusBadRequest)
	// `reviews due` lists the open actions, beside the running server.
	out, _ := mustRun(t, "reviews", "due", "--db", s.DB, "--format", "table")
	if !strings.Contains(out, "Open actions of management reviews") || !strings.Contains(out, "OVERDUE  Update SoA") ||
		strings.Contains(out, "Train staff") {
		t.Errorf("reviews due:\n%s", out)
	}

	// Settings: admin only, stored as an event, named on the report.
	editor := s.as(s.mustToken(t, "editor", "editor"))
	mustStatus(t, editor.do(t, "PUT", "/api/v1/settings", map[string]any{"org_name": "Evil Corp"}, nil), http.StatusForbidden)
	mustStatus(t, s.do(t, "PUT", "/api/v1/settings", map[string]any{"org_name": " "}, nil), http.StatusBadRequest)
	var st struct {
		OrgName string `json:"org_name"`
	}
	mustStatus(t, s.do(t, "PUT", "/api/v1/settings", map[string]any{"org_name": "Acme Payments Ltd"}, &st), http.StatusOK)
	if st.OrgName != "Acme Payments Ltd" {
		t.Errorf("settings = %+v", st)
	}
	resp = s.do(t, "GET", "/api/v1/reports/changes?since=beginning", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "**Acme Payments Ltd**") {
		t.Errorf("report does not name the stored organisation:\n%.400s", body)
	}
}

// TestSettingsAndReportCLI sets the organisation's name from the CLI and
// checks that the report names it, that --org-name still overrides it and
// that an unknown output extension is refused, writing nothing.
func TestSettingsAndReportCLI(t *testing.T) {
	db := MustDemoDB(t)
	dir := t.TempDir()
	out, _ := mustRun(t, "settings", "set", "org-name", "Northwind Cloud Ltd", "--db", db)
	if !strings.Contains(out, "org-name: Northwind Cloud Ltd") {
		t.Errorf("settings set printed %q", out)
	}
	if out, _ := mustRun(t, "settings", "show", "--db", db); !strings.Contains(out, "Northwind Cloud Ltd") {
		t.Errorf("settings show printed %q", out)
	}
	if out, _ := mustRun(t, "reviews", "due", "--db", db, "--date", "2026-07-01", "--format", "table"); !strings.HasPrefix(out, "OWNER ") || strings.Contains(out, "Open actions") {
		t.Errorf("reviews due lists actions where the demo has none:\n%s", out)
	}
	stdout, _ := mustRun(t, "report", "--db", db)
	if !strings.Contains(stdout, "**Northwind Cloud Ltd**") {
		t.Errorf("report does not name the stored organisation:\n%.300s", stdout)
	}
	stdout, _ = mustRun(t, "report", "--db", db, "--org-name", "Override plc")
	if !strings.Contains(stdout, "**Override plc**") {
		t.Errorf("--org-name does not override:\n%.300s", stdout)
	}
	for _, args := range [][]string{{"-o", filepath.Join(dir, "report.docx")}, {"--format", "pdf", "-o", filepath.Join(dir, "report.docx")},
		{"--format", "pdf", "-o", filepath.Join(dir, "report.html")}} {
		root := newRootCmd(new(strings.Builder), new(strings.Builder))
		root.SetArgs(append([]string{"report", "--db", db}, args...))
		if err := root.Execute(); err == nil {
			t.Errorf("report %v: no error", args)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "report.docx")); !os.IsNotExist(err) {
		t.Errorf("report.docx was written: %v", err)
	}
}
