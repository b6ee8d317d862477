package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/handlers/reminders/smtptest"
	"github.com/partyledger/partyledger/projections"
)

// Issue 22 in the console and the report: owner contacts set through
// /owners (the API's validation and role), the digests sent over a real
// SMTP server on loopback then seen in the party's history (API and
// console), a failure on the dashboard until a later digest is sent, and
// the report's loose ends saying how often each was chased.
func TestConsoleReminders(t *testing.T) {
	ms := smtptest.MustStart(t)
	saved := reminderOpts
	reminderOpts.smtpAddr, reminderOpts.smtpTLS, reminderOpts.smtpFrom = ms.Addr, reminders.TLSNone, "partyledger@example.com"
	t.Cleanup(func() { reminderOpts = saved })
	s := MustRunServe(t, "", noLimits)

	var party struct {
		ID string `json:"id"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Acme Bank", "category": "customer",
		"scope": "external", "owner": "Head of Sales"}, &party), http.StatusCreated)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(domain.DateLayout)
	today := time.Now().UTC()
	var req struct {
		ID string `json:"id"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+party.ID+"/requirements", map[string]any{"kind": "requirement",
		"title": "Quarterly service review", "owner": "Head of Sales", "review_due": yesterday}, &req), http.StatusCreated)

	c := consoleClient(t)
	MustSignIn(t, c, s.URL, s.Token)

	// /owners lists the owner in use, without a contact, with a form for
	// the admin.
	resp, body := consoleDo(t, c, "GET", s.URL+"/owners", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/owners: %d", resp.StatusCode)
	}
	for _, want := range []string{"Head of Sales", "no contact — reminders cannot reach them", `<form method="post" action="/owners"`,
		`aria-current="page">Owners</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("/owners lacks %q", want)
		}
	}

	// A bad address: 422 beside the form, nothing written.
	before := eventCount(t, s.DB)
	form := url.Values{"owner": {"Head of Sales"}, "emails": {"sales@example.com\nnot an address"},
		"reason": {"The sales team's shared mailbox"}, "trigger": {"other"}}
	resp, body = consoleDo(t, c, "POST", s.URL+"/owners", form)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "“not an address” must be an e-mail address") ||
		!strings.Contains(body, `aria-invalid="true"`) {
		t.Fatalf("bad address: %d\n%s", resp.StatusCode, body)
	}
	if n := eventCount(t, s.DB); n != before {
		t.Fatalf("a bad address wrote %d events", n-before)
	}
	// Good ones: saved, listed here and by the API.
	form.Set("emails", "Sales <sales@example.com>, sales.lead@example.com")
	resp, _ = consoleDo(t, c, "POST", s.URL+"/owners", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/owners?saved=") {
		t.Fatalf("save: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = consoleDo(t, c, "GET", s.URL+resp.Header.Get("Location"), nil)
	if !strings.Contains(body, "sales.lead@example.com") || !strings.Contains(body, "Saved.") ||
		strings.Contains(body, "no contact — reminders") {
		t.Fatalf("/owners after saving:\n%s", body)
	}
	var owners struct{ Owners []reminders.Owner }
	mustStatus(t, s.do(t, "GET", "/api/v1/owners", nil, &owners), http.StatusOK)
	if len(owners.Owners) != 1 || strings.Join(owners.Owners[0].Emails, " ") != "sales@example.com sales.lead@example.com" {
		t.Fatalf("GET /api/v1/owners after the form: %+v", owners)
	}
	var events struct{ Events []map[string]any }
	mustStatus(t, s.do(t, "GET", "/api/v1/events?type=owner.contacts_set", nil, &events), http.StatusOK)
	if len(events.Events) != 1 || events.Events[0]["actor"] != "admin" || events.Events[0]["reason"] != "The sales team's shared mailbox" {
		t.Fatalf("owner.contacts_set events %+v", events.Events)
	}

	// The digest is sent; the party's and the requirement's history show it.
	var rep reminders.Report
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run", nil, &rep), http.StatusOK)
	if len(rep.Digests) != 1 || rep.Digests[0].Status != reminders.StatusSent {
		t.Fatalf("run %+v", rep)
	}
	var hist struct{ History []projections.ChangeItem }
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+party.ID+"/history", nil, &hist), http.StatusOK)
	last := hist.History[len(hist.History)-1]
	if last.Change != projections.ChangeReminderSent || last.Type != domain.EventReminderSent || last.Reminder == nil ||
		last.Reminder.Owner != "Head of Sales" || len(last.Reminder.Recipients) != 2 || last.Requirement == nil ||
		last.Requirement.ID != req.ID || last.Requirement.Title != "Quarterly service review" {
		t.Fatalf("last history item %+v", last)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/parties/"+party.ID+"/requirements/"+req.ID+"/history", nil, &hist), http.StatusOK)
	if n := len(hist.History); n < 2 || hist.History[n-1].Change != projections.ChangeReminderSent {
		t.Fatalf("requirement history %+v", hist.History)
	}
	_, body = consoleDo(t, c, "GET", s.URL+"/parties/"+party.ID, nil)
	line := "Reminder sent to Head of Sales (sales@example.com, sales.lead@example.com) on " + today.Format("2 Jan 2006")
	if !strings.Contains(body, line) {
		t.Fatalf("the party page lacks %q", line)
	}

	// Another owner whose mail server refuses: retried, then on the
	// dashboard and in the report, until a later digest gets through.
	var other struct {
		ID string `json:"id"`
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+party.ID+"/requirements", map[string]any{"kind": "requirement",
		"title": "Penetration test report", "owner": "CISO", "review_due": yesterday}, &other), http.StatusCreated)
	mustStatus(t, s.do(t, "PUT", "/api/v1/owners/CISO", map[string]any{"emails": []string{"ciso@example.com"}}, nil), http.StatusOK)
	ms.SetFailing(true)
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run?owner=CISO", nil, &rep), http.StatusOK)
	if len(rep.Digests) != 1 || rep.Digests[0].Status != reminders.StatusFailed {
		t.Fatalf("failing run %+v", rep)
	}
	// The runner appends its records without waiting for the read model:
	// the pages show them once it has applied them.
	dashboard := func(want string) string {
		t.Helper()
		var body string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if _, body = consoleDo(t, c, "GET", s.URL+"/", nil); strings.Contains(body, want) {
				break
			}
		}
		return body
	}
	body = dashboard("1 failed</span>")
	for _, want := range []string{`<section class="card" id="reminders">`, "1 failed</span>", "<strong>CISO</strong>",
		"refused by the test", "Last digest sent", "to Head of Sales (sales@example.com, sales.lead@example.com)"} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	_, md := consoleDo(t, c, "GET", s.URL+"/changes/report?format=md&since=beginning", nil)
	for _, want := range []string{"Quarterly service review (reminded once, " + today.Format(domain.DateLayout) + ")",
		"## Owners whose reminders failed", "- CISO: " + today.Format(domain.DateLayout)} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	ms.SetFailing(false)
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run?owner=CISO", nil, &rep), http.StatusOK)
	if rep.Digests[0].Status != reminders.StatusSent {
		t.Fatalf("run after the server came back %+v", rep)
	}
	body = dashboard("No reminder digest has failed.")
	if !strings.Contains(body, "No reminder digest has failed.") || !strings.Contains(body, "to CISO (ciso@example.com)") {
		t.Error("the dashboard still shows the failure after a digest got through")
	}

	// A viewer sees the owners without a form and may not post one.
	viewer := consoleClient(t)
	MustSignIn(t, viewer, s.URL, createToken(t, s, "reader", "viewer"))
	resp, body = consoleDo(t, viewer, "GET", s.URL+"/owners", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "sales.lead@example.com") || strings.Contains(body, "<form method=\"post\" action=\"/owners\"") {
		t.Fatalf("viewer /owners: %d", resp.StatusCode)
	}
	before = eventCount(t, s.DB)
	resp, _ = consoleDo(t, viewer, "POST", s.URL+"/owners", url.Values{"owner": {"CISO"}, "emails": {"x@example.com"}, "reason": {"r"}})
	if resp.StatusCode != http.StatusForbidden || eventCount(t, s.DB) != before {
		t.Fatalf("viewer POST /owners: %d", resp.StatusCode)
	}
}
