package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 12 follow-up: the dashboard and the reviews-due page list the open
// management-review actions with the overdue ones flagged, and a
// requirement without an addressing decision links to its decision form,
// which that link opens.
func TestConsoleDashboardActionsAndUndecided(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	day := func(d int) string { return time.Now().UTC().AddDate(0, 0, d).Format("2006-01-02") }
	var p struct {
		ID string `json:"id"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Acme Bank", "category": "customer", "scope": "external"}, &p), http.StatusCreated)
	var q struct {
		ID string `json:"id"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{"kind": "requirement",
		"title": "Encrypt backups", "source_type": "contract", "reason": "MSA signed", "trigger": "contract_change"}, &q), http.StatusCreated)
	var rv reviewJSON
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews", map[string]any{"held_on": day(-10), "title": "Q3 review",
		"actions": []map[string]string{
			{"title": "Update the SoA", "owner": "CISO", "due_on": day(-1)},
			{"title": "Train staff", "owner": "HR", "due_on": day(30)},
			{"title": "Closed already", "owner": "HR", "due_on": day(-5)},
		}}, &rv), http.StatusCreated)
	mustStatus(t, s.do(t, "POST", "/api/v1/management-reviews/"+rv.ID+"/actions/"+rv.Actions[2].ID+"/complete",
		map[string]any{"evidence": "done in the meeting"}, nil), http.StatusOK)

	c := consoleClient(t)
	MustSignIn(t, c, s.URL, s.Token)
	resp, body := consoleDo(t, c, "GET", s.URL+"/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	for _, want := range []string{"Update the SoA", "Train staff", "1 overdue", `href="/reviews#review-` + rv.ID + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(body, "Closed already") {
		t.Error("dashboard lists a completed action")
	}
	if n := len(regexp.MustCompile(`overdue</span>`).FindAllString(body, -1)); n != 2 { // the heading's count and the action's tag
		t.Errorf("overdue marks on the dashboard = %d, want 2", n)
	}
	link := "/parties/" + p.ID + "?decide=" + q.ID + "#decide-" + q.ID
	if !strings.Contains(body, `href="`+link+`"`) {
		t.Fatalf("dashboard does not link the undecided requirement to its decision form %s", link)
	}
	_, body = consoleDo(t, c, "GET", s.URL+"/parties/"+p.ID+"?decide="+q.ID, nil)
	if !strings.Contains(body, `<details class="decide" id="decide-`+q.ID+`" open>`) {
		t.Fatal("the decision form is not open on the party page")
	}
	_, body = consoleDo(t, c, "GET", s.URL+"/parties/"+p.ID, nil)
	if strings.Contains(body, " open>") {
		t.Fatal("a decision form is open without ?decide=")
	}

	_, body = consoleDo(t, c, "GET", s.URL+"/reviews/due", nil)
	if !strings.Contains(body, "Update the SoA") || !strings.Contains(body, "Train staff") || strings.Contains(body, "Closed already") {
		t.Fatal("the reviews-due page does not list exactly the open actions")
	}

	// A viewer sees the requirement, not a form it may not use.
	viewer := consoleClient(t)
	MustSignIn(t, viewer, s.URL, createToken(t, s, "reader", "viewer"))
	_, body = consoleDo(t, viewer, "GET", s.URL+"/", nil)
	if !strings.Contains(body, `href="/parties/`+p.ID+`#req-`+q.ID+`"`) || strings.Contains(body, "?decide=") {
		t.Fatal("a viewer's dashboard links to the decision form")
	}
}
