package report_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/report"
)

// MustRemind appends a reminder.sent (fail == "") or reminder.failed
// naming the requirement, stamped at, to its own digest stream.
func (e *env) MustRemind(tb testing.TB, owner, fail string, at time.Time, rid string) {
	tb.Helper()
	items := []domain.ReminderItemRef{{Kind: "undecided", ID: rid}}
	var de domain.Event = domain.ReminderSent{Owner: owner, Window: at.Format(domain.DateLayout),
		Recipients: []string{"owner@example.com"}, Items: items, MessageID: "<" + uuid.NewString() + "@example.com>", Attempts: 1}
	if fail != "" {
		de = domain.ReminderFailed{Owner: owner, Window: at.Format(domain.DateLayout),
			Recipients: []string{"owner@example.com"}, Items: items, Error: fail, Attempts: 3}
	}
	data, err := json.Marshal(de)
	if err != nil {
		tb.Fatal(err)
	}
	_, err = e.store.Append(context.Background(), "reminder-"+uuid.NewString(), 0, []eventstore.Event{{
		ID: uuid.Must(uuid.NewV7()).String(), Type: de.EventType(), Schema: domain.CurrentSchema, Time: at,
		Actor: domain.ReminderActor, Reason: "daily reminder digest", Trigger: "periodic_review", Data: data}})
	if err != nil {
		tb.Fatal(err)
	}
}

// Issue 22: the loose ends say how often each was chased in the window and
// which owners' reminders failed.
func TestLooseEndsShowReminders(t *testing.T) {
	ctx := context.Background()
	e := MustOpenEnv(t)
	pid := e.MustIdentifyParty(t, "Data Protection Authority", "external")
	rid := domain.RequirementID(uuid.Must(uuid.NewV7()).String())
	if _, err := e.svc.IdentifyRequirement(ctx, domain.IdentifyRequirement{Meta: meta("GDPR", "regulatory_change"),
		PartyID: pid, RequirementID: rid, Kind: "requirement", Title: "Report breaches within 72 hours",
		SourceType: "law", SourceRef: "GDPR Art. 33", Owner: "DPO", Priority: "high"}, nil); err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 10, d, 7, 0, 0, 0, time.UTC) }
	e.MustRemind(t, "DPO", "", day(1), string(rid))
	e.MustRemind(t, "CISO", "421 try again later", day(2), uuid.NewString()) // before the window
	start := e.MustHead(t)
	e.MustRemind(t, "DPO", "", day(20), string(rid))
	e.MustRemind(t, "DPO", "", day(30), string(rid))
	e.MustRemind(t, "Head of Sales", "", day(29), uuid.NewString())
	e.MustRemind(t, "Head of Sales", "554 mailbox unavailable", day(30), uuid.NewString())

	rep := e.MustBuild(t, "position:"+strconv.FormatInt(start, 10), "")
	if len(rep.Undecided) != 1 || rep.Undecided[0].Reminded.Times != 2 {
		t.Fatalf("undecided %+v, want the requirement reminded twice in the window", rep.Undecided)
	}
	md := string(MustRender(t, rep, report.Markdown))
	html := string(MustRender(t, rep, report.HTML))
	for _, out := range []string{md, html} {
		for _, want := range []string{"Report breaches within 72 hours (reminded 2 times, last 2026-10-30)",
			report.FailedRemindersHeading, "Head of Sales: 2026-10-30, 554 mailbox unavailable (3 attempts)"} {
			if !strings.Contains(out, want) {
				t.Errorf("report lacks %q", want)
			}
		}
		if strings.Contains(out, "CISO: ") {
			t.Error("a failure before the window is listed")
		}
	}
	if pdf := MustRender(t, rep, report.PDF); len(pdf) == 0 {
		t.Fatal("empty PDF")
	}

	// Since the beginning: three reminders; the CISO's failure counts too.
	rep = e.MustBuild(t, "beginning", "")
	if got := rep.Undecided[0].RemindedText(); got != "reminded 3 times, last 2026-10-30" {
		t.Errorf("since the beginning: %q", got)
	}
	if lines := rep.FailedReminderLines(); len(lines) != 2 || !strings.HasPrefix(lines[0], "Head of Sales") ||
		!strings.HasPrefix(lines[1], "CISO") {
		t.Errorf("failed reminder lines %q", lines)
	}
	// Up to the CISO's failure: the DPO reminded once, the CISO failed.
	rep = e.MustBuild(t, "beginning", "position:"+strconv.FormatInt(start, 10))
	if got := rep.Undecided[0].RemindedText(); got != "reminded once, 2026-10-01" {
		t.Errorf("up to the CISO's failure: %q", got)
	}
	if len(rep.ReminderFailures) != 1 || rep.ReminderFailures[0].Owner != "CISO" {
		t.Errorf("failures up to the CISO's: %+v", rep.ReminderFailures)
	}
}
