package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReviewCorrectionActionsHTTP adds and removes actions of a review by
// correction through the real server (every exchange validated against
// openapi.json): the answer lists the new actions with their ids, a removed
// action is cancelled with the correction's reason and stays in history,
// and bad input writes nothing.
func TestReviewCorrectionActionsHTTP(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	day := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	today := time.Now().UTC().Format("2006-01-02")
	hold := func(actions ...string) reviewJSON {
		t.Helper()
		var as []map[string]string
		for _, a := range actions {
			as = append(as, map[string]string{"title": a, "owner": "CISO", "due_on": day})
		}
		var rv reviewJSON
		mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": today, "actions": as}, &rv), http.StatusCreated)
		return rv
	}
	q := hold("Update SoA", "Train staff")
	other := hold("Buy a fax")
	base := "/api/v1/management-reviews/" + q.ID
	mustStatus(t, s.do(t, "POST", base+"/actions/"+q.Actions[1].ID+"/complete", map[string]any{"evidence": "LMS report"}, nil), http.StatusOK)

	// Bad input: refused, nothing written.
	before := eventCount(t, s.DB)
	for _, tc := range []struct {
		name   string
		path   string
		body   map[string]any
		status int
		field  string
	}{
		{"unknown action", base, map[string]any{"remove_actions": []string{"01975f2c-0000-7000-8000-0000000000ff"}, "reason": "x"}, http.StatusBadRequest, "remove_actions"},
		{"action of another review", base, map[string]any{"remove_actions": []string{other.Actions[0].ID}, "reason": "x"}, http.StatusBadRequest, "remove_actions"},
		{"not a list of ids", base, map[string]any{"remove_actions": "all", "reason": "x"}, http.StatusBadRequest, "remove_actions"},
		{"bad due date", base, map[string]any{"add_actions": []map[string]string{{"title": "T", "owner": "O", "due_on": "soon"}}, "reason": "x"}, http.StatusBadRequest, "add_actions.due_on"},
		{"unknown member of an action", base, map[string]any{"add_actions": []map[string]string{{"title": "T", "owner": "O", "due_on": day, "id": "x"}}, "reason": "x"}, http.StatusBadRequest, "add_actions"},
		{"no reason", base, map[string]any{"add_actions": []map[string]string{{"title": "T", "owner": "O", "due_on": day}}}, http.StatusBadRequest, "reason"},
		{"an action already done", base, map[string]any{"remove_actions": []string{q.Actions[1].ID}, "reason": "x"}, http.StatusConflict, ""},
		{"unknown review", "/api/v1/management-reviews/01975f2c-0000-7000-8000-0000000000fe", map[string]any{"remove_actions": []string{q.Actions[0].ID}, "reason": "x"}, http.StatusNotFound, ""},
	} {
		var p problemJSON
		mustStatus(t, s.do(t, "POST", tc.path+"/corrections", tc.body, &p), tc.status)
		if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
			t.Errorf("%s: problem %+v, want field %s", tc.name, p, tc.field)
		}
		if n := eventCount(t, s.DB); n != before {
			t.Fatalf("%s: refused correction wrote %d events", tc.name, n-before)
		}
	}

	// One correction adds an action and removes another.
	var got struct {
		reviewJSON
		AddedActions []struct {
			ID, Title, Owner, Status string
			DueOn                    string `json:"due_on"`
		} `json:"added_actions"`
	}
	resp := s.do(t, "POST", base+"/corrections", map[string]any{
		"add_actions":    []map[string]string{{"title": "Train the board", "owner": "CEO", "due_on": day}},
		"remove_actions": []string{q.Actions[0].ID}, "reason": "Minutes amended."}, &got)
	mustStatus(t, resp, http.StatusOK)
	if len(got.AddedActions) != 1 || got.AddedActions[0].ID == "" || got.AddedActions[0].Title != "Train the board" ||
		got.AddedActions[0].Status != "open" || got.Version != 2 || resp.Header.Get("ETag") != `"2"` {
		t.Fatalf("correction answer = %+v (ETag %s)", got, resp.Header.Get("ETag"))
	}
	status := map[string]string{}
	for _, a := range got.Actions {
		status[a.Title] = a.Status
	}
	if status["Update SoA"] != "cancelled" || status["Train staff"] != "done" || status["Train the board"] != "open" || len(status) != 3 {
		t.Errorf("actions after the correction = %v", status)
	}
	if n := eventCount(t, s.DB); n != before+2 {
		t.Errorf("the correction wrote %d events, want 2 (the correction and the cancellation)", n-before)
	}
	// The removed action is cancelled in its own history, with the reason.
	var hist struct {
		Events []struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"events"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/events?stream=action-"+q.Actions[0].ID, nil, &hist), http.StatusOK)
	if len(hist.Events) != 1 || hist.Events[0].Type != "review_action.cancelled" || hist.Events[0].Reason != "Minutes amended." {
		t.Errorf("history of the removed action = %+v", hist)
	}
	// It cannot be completed or removed again; the added one can be completed.
	mustStatus(t, s.do(t, "POST", base+"/actions/"+q.Actions[0].ID+"/complete", map[string]any{"evidence": "x"}, nil), http.StatusConflict)
	mustStatus(t, s.do(t, "POST", base+"/corrections", map[string]any{"remove_actions": []string{q.Actions[0].ID}, "reason": "x"}, nil), http.StatusBadRequest)
	mustStatus(t, s.do(t, "POST", base+"/actions/"+got.AddedActions[0].ID+"/complete", map[string]any{"evidence": "Slides"}, nil), http.StatusOK)
	// A correction without actions answers an empty added_actions.
	mustStatus(t, s.do(t, "POST", base+"/corrections", map[string]any{"title": "Q1", "reason": "Title."}, &got), http.StatusOK)
	if got.AddedActions == nil || len(got.AddedActions) != 0 || got.Title != "Q1" {
		t.Errorf("plain correction answer = %+v", got)
	}
}

// TestClosedWindowReportHTTP generates the report of a closed window
// (review A to review B) through the real server in HTML and Markdown, and
// the window's change feed as JSON; then corrects A (title, an action
// removed, one added), completes A's other action, corrects B, renames the
// organisation and adds a party; and generates them again. The documents
// are the same apart from the "Generated" line (dropped before comparing:
// the one line allowed to differ), the JSON byte for byte; the report of
// the next window lists the corrections.
func TestClosedWindowReportHTTP(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	today := time.Now().UTC().Format("2006-01-02")
	due := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	party := func(name string) {
		t.Helper()
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": name, "category": "customer",
			"scope": "external"}, nil), http.StatusCreated)
	}
	rename := func(name string) {
		t.Helper()
		mustStatus(t, s.do(t, "PUT", "/api/v1/settings", map[string]any{"org_name": name}, nil), http.StatusOK)
	}
	rename("Northwind Cloud Ltd")
	party("Acme Bank")
	var a, b reviewJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": today, "title": "Q1 review",
		"decisions": []string{"Keep the scope."},
		"actions": []map[string]string{{"title": "Update SoA", "owner": "CISO", "due_on": due},
			{"title": "Brief the insurer", "owner": "CFO", "due_on": due}}}, &a), http.StatusCreated)
	party("Regulator")
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": today, "title": "Q2 review"}, &b), http.StatusCreated)
	window := "since=review:" + a.ID + "&until=review:" + b.ID
	get := func(path string) string {
		t.Helper()
		resp := s.do(t, "GET", path, nil, nil)
		mustStatus(t, resp, http.StatusOK)
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body)
	}
	withoutGenerated := func(doc string) string {
		var keep []string
		for _, l := range strings.Split(doc, "\n") {
			if !strings.Contains(l, "Generated") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	docs := func() map[string]string {
		return map[string]string{
			"html": withoutGenerated(get("/api/v1/reports/changes?" + window + "&format=html")),
			"md":   withoutGenerated(get("/api/v1/reports/changes?" + window + "&format=md")),
			"json": get("/api/v1/changes?" + window),
		}
	}
	first := docs()
	for _, want := range []string{"**Northwind Cloud Ltd**", `management review "Q1 review"`, "| Brief the insurer | CFO |",
		"Last event of the window"} {
		if !strings.Contains(first["md"], want) {
			t.Errorf("first report lacks %q", want)
		}
	}

	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+a.ID+"/corrections", map[string]any{
		"title": "Q1 review (amended)", "remove_actions": []string{a.Actions[1].ID},
		"add_actions": []map[string]string{{"title": "Train the board", "owner": "CEO", "due_on": due}},
		"reason":      "Minutes amended."}, nil), http.StatusOK)
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+a.ID+"/actions/"+a.Actions[0].ID+"/complete",
		map[string]any{"evidence": "SoA v7"}, nil), http.StatusOK)
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+b.ID+"/corrections", map[string]any{
		"title": "Q2 board review", "reason": "Typo."}, nil), http.StatusOK)
	rename("Northwind Group plc")
	party("Late arrival")

	second := docs()
	for f, want := range first {
		if second[f] != want {
			t.Errorf("%s of the closed window changed after the window:\n--- first\n%s\n--- second\n%s", f, want, second[f])
		}
	}
	// The next window (from B, open) shows what happened after A..B.
	next := get("/api/v1/reports/changes?since=review:" + b.ID + "&format=md")
	for _, want := range []string{"**Northwind Group plc**", "## Management review records corrected in this window",
		"Q1 review (amended)", "Minutes amended.", "Late arrival", "open window — not reproducible"} {
		if !strings.Contains(next, want) {
			t.Errorf("the next window's report lacks %q", want)
		}
	}
}
