package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/handlers/reminders/smtptest"
)

// TestRemindersEndToEnd drives owner contacts and digests through the
// served API (validated against openapi.json) and the remind command, with
// a real SMTP server on loopback.
func TestRemindersEndToEnd(t *testing.T) {
	ms := smtptest.MustStart(t)
	saved := reminderOpts
	reminderOpts.smtpAddr, reminderOpts.smtpTLS, reminderOpts.smtpFrom = ms.Addr, reminders.TLSNone, "partyledger@example.com"
	t.Cleanup(func() { reminderOpts = saved })
	s := MustRunServe(t, "")

	var party map[string]any
	mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Acme Bank", "category": "customer",
		"scope": "external", "owner": "Head of Sales"}, &party), http.StatusCreated)
	pid := party["id"].(string)
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(domain.DateLayout)
	mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+pid+"/requirements", map[string]any{"kind": "requirement",
		"title": "Quarterly service review", "owner": "Head of Sales", "review_due": yesterday}, nil), http.StatusCreated)

	// Bad addresses: 400 naming the entry, and nothing written.
	before := eventCount(t, s.DB)
	owner := "/api/v1/owners/" + url.PathEscape("Head of Sales")
	var prob map[string]any
	mustStatus(t, s.do(t, "PUT", owner, map[string]any{"emails": []string{"sales@example.com", "not an address"}}, &prob), http.StatusBadRequest)
	if !strings.Contains(string(mustJSON(t, prob)), "emails[1]") {
		t.Errorf("problem %v does not name emails[1]", prob)
	}
	mustStatus(t, s.do(t, "PUT", owner, map[string]any{"emails": "x@example.com"}, nil), http.StatusBadRequest)
	if n := eventCount(t, s.DB); n != before {
		t.Errorf("bad input wrote %d events", n-before)
	}
	var o reminders.Owner
	mustStatus(t, s.do(t, "PUT", owner, map[string]any{"emails": []string{"Sales Lead <sales.lead@example.com>"}}, &o), http.StatusOK)
	if o.Name != "Head of Sales" || len(o.Emails) != 1 || o.Emails[0] != "sales.lead@example.com" {
		t.Errorf("PUT owner = %+v", o)
	}
	var owners struct{ Owners []reminders.Owner }
	mustStatus(t, s.do(t, "GET", "/api/v1/owners", nil, &owners), http.StatusOK)
	if len(owners.Owners) != 1 || !owners.Owners[0].InUse || len(owners.Owners[0].Emails) != 1 {
		t.Errorf("GET owners = %+v", owners)
	}

	// A dry run lists the digest and sends nothing.
	var rep reminders.Report
	before = eventCount(t, s.DB)
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run?dry_run=true", nil, &rep), http.StatusOK)
	if len(rep.Digests) != 1 || rep.Digests[0].Status != reminders.StatusWouldSend || !rep.DryRun {
		t.Fatalf("dry run = %+v", rep)
	}
	if n := eventCount(t, s.DB); n != before || len(ms.Messages()) != 0 {
		t.Errorf("dry run wrote %d events, sent %d messages", n-before, len(ms.Messages()))
	}
	out, code := runCLI(t, "remind", "--db", s.DB, "--dry-run")
	if code != 0 || !strings.Contains(out, "Head of Sales") || !strings.Contains(out, "would_send") {
		t.Errorf("remind --dry-run (%d):\n%s", code, out)
	}

	// A real run sends one digest and records it; a second run sends nothing.
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run", map[string]any{}, &rep), http.StatusOK)
	if len(rep.Digests) != 1 || rep.Digests[0].Status != reminders.StatusSent {
		t.Fatalf("run = %+v", rep)
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run?dry_run=false", nil, &rep), http.StatusOK)
	if rep.Digests[0].Status != reminders.StatusAlready {
		t.Errorf("second run = %+v", rep)
	}
	msgs := ms.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "sales.lead@example.com" || !strings.Contains(msgs[0].Data, "Quarterly service review") {
		t.Fatalf("messages %+v", msgs)
	}
	var recorded struct{ Reminders []reminders.Outcome }
	mustStatus(t, s.do(t, "GET", "/api/v1/reminders", nil, &recorded), http.StatusOK)
	if len(recorded.Reminders) != 1 || recorded.Reminders[0].MessageID == "" || !strings.Contains(msgs[0].Data, recorded.Reminders[0].MessageID) {
		t.Errorf("GET reminders = %+v", recorded)
	}
	var events struct{ Events []map[string]any }
	mustStatus(t, s.do(t, "GET", "/api/v1/events?type=reminder.sent", nil, &events), http.StatusOK)
	if len(events.Events) != 1 {
		t.Errorf("audit trail has %d reminder.sent events, want 1", len(events.Events))
	}
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run?dry_run=maybe", nil, nil), http.StatusBadRequest)
}

// TestRemindersRunWithoutSMTP answers 503 for a real run and 200 for a dry
// one.
func TestRemindersRunWithoutSMTP(t *testing.T) {
	saved := reminderOpts
	reminderOpts.smtpAddr = ""
	t.Cleanup(func() { reminderOpts = saved })
	s := MustRunServe(t, "")
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run", nil, nil), http.StatusServiceUnavailable)
	mustStatus(t, s.do(t, "POST", "/api/v1/reminders/run?dry_run=true", nil, nil), http.StatusOK)
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestDemoHasOwnersAndItemsDue: the demo gives owners example.com
// addresses and leaves items due, so a dry run lists digests to send and
// the owners list shows the owner without contacts.
func TestDemoHasOwnersAndItemsDue(t *testing.T) {
	db := MustDemoDB(t)
	out, _ := mustRun(t, "remind", "--db", db, "--dry-run", "--format", "json")
	var rep reminders.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	byOwner := map[string]reminders.Outcome{}
	for _, d := range rep.Digests {
		byOwner[d.Owner] = d
	}
	if d := byOwner["CISO"]; d.Status != reminders.StatusWouldSend || len(d.Items) == 0 ||
		!slices.Contains(d.Recipients, "ciso@example.com") {
		t.Errorf("CISO: %+v", d)
	}
	s := MustRunServe(t, db)
	var owners struct{ Owners []reminders.Owner }
	mustStatus(t, s.do(t, "GET", "/api/v1/owners", nil, &owners), http.StatusOK)
	gap := false
	for _, o := range owners.Owners {
		if o.Name == "Head of Partnerships" && o.InUse && len(o.Emails) == 0 {
			gap = true
		}
	}
	if !gap {
		t.Errorf("owners %+v lack the Head of Partnerships gap", owners.Owners)
	}
}
