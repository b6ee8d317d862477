package report_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/report"
)

// The reports of a closed window must be the same document whenever they
// are generated after the window closed. Each test below generates one,
// appends the events that used to disturb it, generates it again a day
// later and compares the two byte for byte in every text format, and the
// report model as JSON. The "generated at/by" line is the one part allowed
// to differ: withoutGenerated drops it from the renderings, and snapshot
// blanks GeneratedAt and GeneratedBy in the model. Nothing else is excluded.

// snapshot is a closed window's report in every text format and its model
// as JSON, with the generated stamp taken out.
type snapshot map[string]string

func takeSnapshot(t *testing.T, rep *report.Report) snapshot {
	t.Helper()
	s := snapshot{}
	for _, f := range []report.Format{report.Markdown, report.HTML, report.CSV} {
		s[string(f)] = withoutGenerated(MustRender(t, rep, f))
	}
	m := *rep
	m.GeneratedAt, m.GeneratedBy = time.Time{}, ""
	b, err := json.MarshalIndent(&m, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	s["json"] = string(b)
	return s
}

// mustBeSame fails the test for every format in which got differs from want.
func mustBeSame(t *testing.T, want, got snapshot) {
	t.Helper()
	for f, w := range want {
		if diff := cmp.Diff(w, got[f]); diff != "" {
			t.Errorf("%s of the closed window changed after the window (-first +second):\n%s", f, diff)
		}
	}
}

// buildAt builds the report of since/until with the generation clock at
// now, without an organisation override (the stored setting names it).
func (e *env) buildAt(t *testing.T, now time.Time, since, until string) *report.Report {
	t.Helper()
	b := e.builder()
	b.Organisation = ""
	b.Now = func() time.Time { return now }
	rep, err := b.Build(context.Background(), report.Request{Since: since, Until: until, GeneratedBy: "auditor"})
	if err != nil {
		t.Fatalf("build since=%q until=%q: %v", since, until, err)
	}
	return rep
}

// mustHold records a review held on commandClock's date and returns its id.
func (e *env) mustHold(t *testing.T, title string, decisions []string, actions ...domain.ActionInput) domain.ReviewID {
	t.Helper()
	res, err := e.svc.HoldManagementReview(context.Background(), domain.HoldManagementReview{
		Meta: meta("", "management_review"), HeldOn: commandClock.Format(domain.DateLayout), Title: title,
		Decisions: decisions, Actions: actions})
	if err != nil {
		t.Fatal(err)
	}
	return domain.ReviewID(strings.TrimPrefix(res.Stream, domain.ReviewStreamPrefix))
}

// TestClosedWindowLateReviewCorrection: corrections of the review that opens
// the window (title, decisions, an action added, an action removed), an
// action completed, the closing review corrected and then voided, all after
// the window's end, leave the report of the window as it was; the report of
// an open window after them shows them.
func TestClosedWindowLateReviewCorrection(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	keep := domain.ActionInput{ActionID: "01975f2c-0000-7000-8000-0000000000b1", Title: "Update the SoA", Owner: "CISO", DueOn: "2026-09-01"}
	drop := domain.ActionInput{ActionID: "01975f2c-0000-7000-8000-0000000000b2", Title: "Brief the insurer", Owner: "CFO", DueOn: "2026-09-01"}
	a := e.mustHold(t, "Q1 review", []string{"Extend the scope to the DR site."}, keep, drop)
	e.MustIdentifyParty(t, "Payments regulator", "external")
	b := e.mustHold(t, "Q2 review", nil)
	since, until := "review:"+string(a), "review:"+string(b)
	first := e.buildAt(t, reportClock, since, until)
	if !first.Closed || first.Previous == nil || len(first.Previous.Actions) != 2 {
		t.Fatalf("first report: closed %v, previous %+v", first.Closed, first.Previous)
	}
	want := takeSnapshot(t, first)

	// After the window: A corrected (an action added, one removed), an
	// action completed, B corrected and voided, the register changed.
	res, err := e.svc.CorrectManagementReview(ctx, domain.CorrectManagementReview{Meta: meta("minutes amended", "management_review"),
		ReviewID: a, Title: ptr("Q1 review (amended)"), Decisions: &[]string{"Extend the scope.", "Hire a DPO."},
		AddActions:    []domain.ActionInput{{Title: "Train the board", Owner: "CEO", DueOn: "2026-12-01"}},
		RemoveActions: []domain.ActionID{drop.ActionID}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Events) != 1 {
		t.Fatalf("correction stored %d events in the review's stream, want 1", len(res.Events))
	}
	if _, err := e.svc.CompleteAction(ctx, domain.CompleteAction{Meta: meta("", "other"), ReviewID: a,
		ActionID: keep.ActionID, Evidence: "SoA v7"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CorrectManagementReview(ctx, domain.CorrectManagementReview{Meta: meta("typo", "other"),
		ReviewID: b, Title: ptr("Q2 board review")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VoidManagementReview(ctx, domain.VoidManagementReview{Meta: meta("recorded twice", "other"),
		ReviewID: b}, nil); err != nil {
		t.Fatal(err)
	}
	e.MustIdentifyParty(t, "Late arrival", "external")

	second := e.buildAt(t, reportClock.Add(24*time.Hour), since, until)
	mustBeSame(t, want, takeSnapshot(t, second))
	md := want[string(report.Markdown)]
	for _, s := range []string{`management review "Q1 review"`, `management review "Q2 review"`,
		"Extend the scope to the DR site.", "| Brief the insurer | CFO | 2026-09-01 | open |", "| Update the SoA | CISO | 2026-09-01 | open |"} {
		if !strings.Contains(md, s) {
			t.Errorf("the closed window's report lacks %q", s)
		}
	}
	for _, s := range []string{"amended", "Hire a DPO.", "Train the board", "Q2 board review", "Late arrival"} {
		if strings.Contains(md, s) {
			t.Errorf("the closed window's report shows %q, recorded after the window", s)
		}
	}

	// The review as it stands (an open window from A) shows the corrections.
	open := e.buildAt(t, reportClock.Add(24*time.Hour), since, "")
	if open.Closed {
		t.Fatal("until=now is closed")
	}
	got := map[string]string{}
	for _, ac := range open.Previous.Actions {
		got[ac.Title] = ac.Status
	}
	if diff := cmp.Diff(map[string]string{"Update the SoA": "done", "Brief the insurer": "cancelled", "Train the board": "open"}, got); diff != "" {
		t.Errorf("open window: actions of A (-want +got):\n%s", diff)
	}
	if open.Previous.Review.Title != "Q1 review (amended)" {
		t.Errorf("open window: review title %q", open.Previous.Review.Title)
	}
	for _, ac := range open.Previous.Actions {
		if ac.Title == "Brief the insurer" && ac.Reason != "minutes amended" {
			t.Errorf("the removed action was cancelled with reason %q, want the correction's", ac.Reason)
		}
	}
	if !strings.Contains(string(MustRender(t, open, report.Markdown)), "open window — not reproducible") {
		t.Error("the open window's report does not say it is not reproducible")
	}

	// The corrections made after the window are in the report of the next
	// window, the one that contains them.
	next := e.buildAt(t, reportClock.Add(24*time.Hour), until, "")
	var what []string
	for _, c := range next.ReviewRecords {
		what = append(what, c.Title+"/"+c.What+"/"+c.Reason)
	}
	if diff := cmp.Diff([]string{"Q1 review (amended)/corrected/minutes amended", "Q2 board review/corrected/typo",
		"Q2 board review/voided/recorded twice"}, what); diff != "" {
		t.Errorf("review records corrected in the next window (-want +got):\n%s", diff)
	}
	md = string(MustRender(t, next, report.Markdown))
	for _, s := range []string{"## Management review records corrected in this window",
		`title: "Q1 review" → "Q1 review (amended)"`, `actions: "Update the SoA", "Brief the insurer" → "Update the SoA", "Train the board"`} {
		if !strings.Contains(md, s) {
			t.Errorf("the next window's report lacks %q", s)
		}
	}
	if html := string(MustRender(t, next, report.HTML)); !strings.Contains(html, "Management review records corrected in this window") {
		t.Error("the next window's HTML report lacks the corrected review records")
	}
	if strings.Contains(want[string(report.Markdown)], "records corrected") {
		t.Error("the closed window's report lists corrections")
	}
}

// TestClosedWindowOrganisationRenamed: the organisation renamed after the
// window does not rename it in the report of the window; an open window's
// report uses the name as it stands.
func TestClosedWindowOrganisationRenamed(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	rename := func(name string) {
		t.Helper()
		if _, err := e.svc.ChangeSettings(ctx, domain.ChangeSettings{Meta: meta("", "other"), OrgName: ptr(name)}); err != nil {
			t.Fatal(err)
		}
	}
	rename("Northwind Cloud Ltd")
	e.MustIdentifyParty(t, "Payments regulator", "external")
	end := e.MustHead(t)
	until := "position:" + strconv.FormatInt(end, 10)
	first := e.buildAt(t, reportClock, "beginning", until)
	want := takeSnapshot(t, first)
	if first.Organisation != "Northwind Cloud Ltd" {
		t.Fatalf("organisation = %q", first.Organisation)
	}

	rename("Northwind Group plc")
	e.MustIdentifyParty(t, "Late arrival", "external")
	second := e.buildAt(t, reportClock.Add(24*time.Hour), "beginning", until)
	mustBeSame(t, want, takeSnapshot(t, second))
	if second.Organisation != "Northwind Cloud Ltd" {
		t.Errorf("closed window: organisation = %q, want the name at the window's end", second.Organisation)
	}
	if open := e.buildAt(t, reportClock, "beginning", ""); open.Organisation != "Northwind Group plc" {
		t.Errorf("open window: organisation = %q, want the current name", open.Organisation)
	}
	// A window that ends before any name was set shows the default.
	if r := e.buildAt(t, reportClock, "beginning", "position:0"); r.Organisation != report.DefaultOrganisation {
		t.Errorf("window before the first setting: organisation = %q", r.Organisation)
	}
}

// TestTimeWindowResolvesToPosition: a window until a time that has passed
// ends at the last event recorded at or before that time, so events
// recorded later (with later times) never enter it; a window until a time
// still to come is open, ends at the head and says it is not reproducible.
func TestTimeWindowResolvesToPosition(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e.svc.Now = func() time.Time { return clock }
	res, err := e.svc.HoldManagementReview(ctx, domain.HoldManagementReview{Meta: meta("", "management_review"),
		HeldOn: "2026-03-01", Title: "Q4 review"})
	if err != nil {
		t.Fatal(err)
	}
	since := "review:" + strings.TrimPrefix(res.Stream, domain.ReviewStreamPrefix)
	e.MustIdentifyParty(t, "Payments regulator", "external")
	clock = time.Date(2026, 3, 20, 9, 0, 0, 0, time.UTC)
	id := e.MustIdentifyParty(t, "Card scheme", "external")
	end := e.MustHead(t)
	endTime := "time:2026-03-31T23:59:59.999999999Z" // what the CLI sends for --until 2026-03-31
	first := e.buildAt(t, reportClock, since, endTime)
	if !first.Closed || !first.Integrity.WindowEnd || first.Integrity.HeadPosition != end || first.AsOfDate != "2026-03-20" {
		t.Fatalf("time window: closed %v, integrity %+v, as of %s; want closed at position %d",
			first.Closed, first.Integrity, first.AsOfDate, end)
	}
	want := takeSnapshot(t, first)

	clock = time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
	e.MustIdentifyParty(t, "Late arrival", "external")
	if _, err := e.svc.RetireParty(ctx, domain.RetireParty{Meta: meta("gone", "other"), PartyID: id}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CorrectManagementReview(ctx, domain.CorrectManagementReview{Meta: meta("typo", "other"),
		ReviewID: domain.ReviewID(strings.TrimPrefix(since, "review:")), Title: ptr("Q4 board review")}, nil); err != nil {
		t.Fatal(err)
	}
	second := e.buildAt(t, reportClock.Add(24*time.Hour), since, endTime)
	mustBeSame(t, want, takeSnapshot(t, second))
	if second.Since.Review.Title != "Q4 review" {
		t.Errorf("the review that opens the time window reads %q, not as of the window's end", second.Since.Review.Title)
	}

	// A window until a time still to come is open: the head at generation.
	future := e.buildAt(t, reportClock, since, "time:2026-12-31T23:59:59Z")
	if future.Closed || future.Integrity.WindowEnd || future.Integrity.HeadPosition != e.MustHead(t) {
		t.Errorf("future time window: closed %v, integrity %+v", future.Closed, future.Integrity)
	}
	if md := string(MustRender(t, future, report.Markdown)); !strings.Contains(md, "open window — not reproducible") ||
		!strings.Contains(md, "Late arrival") {
		t.Error("the future window's report does not say it is open, or misses the latest change")
	}
	// A time before the first event: nothing, and still the same document.
	if r := e.buildAt(t, reportClock, since, "time:2026-01-01T00:00:00Z"); !r.Closed || r.Events != 0 || r.AsOfDate != "2026-01-01" {
		t.Errorf("window before the log: closed %v, events %d, as of %q", r.Closed, r.Events, r.AsOfDate)
	}
}
