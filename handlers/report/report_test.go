package report_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/handlers/report"
)

// goldenBytes renders rep in f with the log head's hash (which depends on
// random event ids) replaced by a placeholder.
func goldenBytes(t *testing.T, rep *report.Report, f report.Format) []byte {
	t.Helper()
	out := MustRender(t, rep, f)
	if rep.Integrity.HeadHash == "" {
		t.Fatal("the report has no head hash")
	}
	return bytes.ReplaceAll(out, []byte(rep.Integrity.HeadHash), []byte("<head-hash>"))
}

// TestGolden compares the Markdown and HTML reports of the demo
// organisation, since its management review and in a window with no
// changes, with testdata/*.golden (go test -update rewrites them).
func TestGolden(t *testing.T) {
	e, _ := MustLoadDemo(t)
	head := int(e.MustHead(t))
	for _, tc := range []struct {
		name, since, until string
	}{
		{"demo-last-review", "last-review", "now"},
		{"demo-no-changes", "position:" + strconv.Itoa(head), "now"},
	} {
		rep := e.MustBuild(t, tc.since, tc.until)
		for _, f := range []report.Format{report.Markdown, report.HTML} {
			t.Run(tc.name+"."+string(f), func(t *testing.T) {
				compareGolden(t, tc.name+"."+string(f)+".golden", goldenBytes(t, rep, f))
			})
		}
	}
}

// TestDemoReport checks the model of the demo's report since its
// management review against what the demo does after the review.
func TestDemoReport(t *testing.T) {
	e, sum := MustLoadDemo(t)
	rep := e.MustBuild(t, "", "")

	if rep.Since.Kind != "review" || rep.Since.Review == nil || rep.Since.Review.ID != sum.ReviewID ||
		rep.Since.Position != sum.ReviewPosition-1 || rep.Since.Review.Position != sum.ReviewPosition {
		// The window starts where the review's considered window ended: the
		// head when it was recorded, just before its own event.
		t.Errorf("since = %+v, want the end of the window of the demo's review %s at %d", rep.Since, sum.ReviewID, sum.ReviewPosition-1)
	}
	head := e.MustHead(t)
	if rep.Until.Kind != "now" || rep.Until.Position != head {
		t.Errorf("until = %+v, want now at the head %d", rep.Until, head)
	}
	if want := e.MustCountChanges(t, sum.ReviewPosition, head); rep.Events != want || want == 0 {
		t.Errorf("events = %d, want the %d register changes after the review", rep.Events, want)
	}
	if rep.Integrity.HeadPosition != head || len(rep.Integrity.HeadHash) != 64 {
		t.Errorf("integrity = %+v, want head %d with a SHA-256 hash", rep.Integrity, head)
	}
	if rep.Organisation != "Northwind Cloud Ltd" || rep.GeneratedBy != "auditor" || !rep.GeneratedAt.Equal(reportClock) {
		t.Errorf("header = %q by %q at %v", rep.Organisation, rep.GeneratedBy, rep.GeneratedAt)
	}

	s := rep.Summary
	want := report.Summary{
		Parties:      report.Counts{Added: 1, Revised: 1, Retired: 1}, // Pebble; cloud provider; PayFlow
		Requirements: report.Counts{Added: 2, Revised: 1, Retired: 1}, // DORA, Pebble DPA; NIS2 Art. 21; transition
		Expectations: report.Counts{Added: 1},                         // SIEM export
		Addressing:   report.AddressingCounts{UndecidedToAddressed: 3, Reworded: 1},
		ByTrigger: []report.TriggerCount{{"risk_assessment", 1}, {"incident", 1}, {"regulatory_change", 2},
			{"contract_change", 2}, {"customer_feedback", 1}, {"audit_finding", 2}, {"management_review", 1},
			{"periodic_review", 1}},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	var triggers int
	for _, tc := range s.ByTrigger {
		triggers += tc.Events
	}
	// The summary is the net view: its trigger counts add up to the net
	// changes, which are fewer than the events (two events of one item
	// make one net change).
	if triggers != rep.NetChanges || rep.NetChanges >= rep.Events {
		t.Errorf("changes by trigger add up to %d, want the %d net changes (events: %d)", triggers, rep.NetChanges, rep.Events)
	}

	// Internal parties first, then external, each by name.
	var names []string
	for _, pc := range rep.Internal {
		if pc.Party.Scope != "internal" {
			t.Errorf("%s (%s) is grouped with the internal parties", pc.Party.Name, pc.Party.Scope)
		}
		names = append(names, pc.Party.Name)
	}
	if len(rep.Internal) != 1 || names[0] != "Executive leadership team" {
		t.Errorf("internal parties with changes = %q, want the executive leadership team", names)
	}
	var ext []string
	for _, pc := range rep.External {
		ext = append(ext, pc.Party.Name)
	}
	wantExt := []string{"Certification body (ISO/IEC 27001 auditor)", "Cloud hosting provider (IaaS, EU regions)",
		"Customers", "National cybersecurity authority (NIS2)", "PayFlow HR (payroll and HR SaaS)",
		"Pebble Payroll (payroll and HR SaaS)"}
	if diff := cmp.Diff(wantExt, ext); diff != "" {
		t.Errorf("external parties (-want +got):\n%s", diff)
	}

	// The cloud provider's revision: field, from, to and the event behind it.
	cloud := findParty(t, rep, string(demo.PartyID("cloud-provider")))
	if len(cloud.Items) != 1 || cloud.Items[0].Change != "party_revised" {
		t.Fatalf("cloud provider items = %+v", cloud.Items)
	}
	it := cloud.Items[0]
	ev := it.Events[0]
	if len(it.Events) != 1 || ev.Actor != "demo" || ev.Trigger != "risk_assessment" || !strings.Contains(ev.Reason, "RA-2026-04") ||
		!ev.Time.Equal(commandClock) {
		t.Errorf("event = %+v", it.Events)
	}
	wantFields := []report.FieldChange{
		{Field: "influence", From: 4, To: 5, Positions: []int64{ev.Position}},
		{Field: "interest", From: 2, To: 3, Positions: []int64{ev.Position}},
	}
	if diff := cmp.Diff(wantFields, it.Fields); diff != "" {
		t.Errorf("cloud provider fields (-want +got):\n%s", diff)
	}

	// Pebble's DPA: added, then decided: the addressing fields name both events.
	pebble := findParty(t, rep, string(demo.PartyID("pebble-payroll")))
	if len(pebble.Items) != 2 || pebble.Items[0].Requirement != nil || pebble.Items[1].Requirement == nil {
		t.Fatalf("pebble items = %+v", pebble.Items)
	}
	dpa := pebble.Items[1]
	for _, fc := range dpa.Fields {
		if fc.Field == "addressed" && (fc.From != nil || fc.To != true || len(fc.Positions) != 2) {
			t.Errorf("pebble DPA addressed = %+v, want not yet decided -> true from two events", fc)
		}
		if fc.Field == "description" && len(fc.Positions) != 1 {
			t.Errorf("pebble DPA description positions = %v, want the identifying event only", fc.Positions)
		}
	}

	// Loose ends: undecided, past due (relative to the report clock), retired.
	if len(rep.Undecided) == 0 {
		t.Error("no undecided requirements, want the demo's")
	}
	for _, o := range rep.Undecided {
		if o.Requirement.Addressed != nil || o.Requirement.Status != "active" {
			t.Errorf("undecided %+v", o.Requirement)
		}
	}
	for i, o := range rep.PastDue {
		if d := *o.Requirement.ReviewDue; d >= "2026-11-02" {
			t.Errorf("past due %q is due %s, not before the report date", o.Requirement.Title, d)
		}
		if i > 0 && *rep.PastDue[i-1].Requirement.ReviewDue > *o.Requirement.ReviewDue {
			t.Errorf("past due list not ordered by date at %d", i)
		}
	}
	if len(rep.Retired) != 1 || rep.Retired[0].Party.ID != string(demo.PartyID("payflow")) ||
		len(rep.Retired[0].Requirements) != 1 {
		t.Errorf("retired parties with open requirements = %+v, want PayFlow with its DPA", rep.Retired)
	}
}

func findParty(t *testing.T, rep *report.Report, id string) report.PartyChanges {
	t.Helper()
	for _, g := range [][]report.PartyChanges{rep.Internal, rep.External} {
		for _, pc := range g {
			if pc.Party.ID == id {
				return pc
			}
		}
	}
	t.Fatalf("party %s has no changes in the report", id)
	return report.PartyChanges{}
}

// TestPastDueFollowsTheClock: review dates compare with the report's own
// date, so an earlier report lists fewer requirements as past due.
func TestPastDueFollowsTheClock(t *testing.T) {
	e, _ := MustLoadDemo(t)
	late := e.MustBuild(t, "", "")
	b := e.builder()
	b.Now = func() time.Time { return time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC) }
	early, err := b.Build(context.Background(), report.Request{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range early.PastDue {
		if *o.Requirement.ReviewDue >= "2025-10-01" {
			t.Errorf("on 2025-10-01, %q due %s is not past due", o.Requirement.Title, *o.Requirement.ReviewDue)
		}
	}
	if len(early.PastDue) == 0 || len(early.PastDue) >= len(late.PastDue) {
		t.Errorf("past due: %d on 2025-10-01, %d on 2026-11-02; want fewer, but some, earlier", len(early.PastDue), len(late.PastDue))
	}
}

// TestWindows: the report reads the same windows as GET /api/v1/changes.
func TestWindows(t *testing.T) {
	e, sum := MustLoadDemo(t)
	all := e.MustBuild(t, "beginning", "")
	if want := e.MustCountChanges(t, 0, e.MustHead(t)); all.Events != want {
		t.Errorf("since the beginning: %d events, want %d", all.Events, want)
	}
	before := e.MustBuild(t, "beginning", "review:"+sum.ReviewID)
	if want := e.MustCountChanges(t, 0, sum.ReviewPosition); before.Events != want || before.Until.Kind != "review" {
		t.Errorf("up to the review: %d events (until %+v), want %d", before.Events, before.Until, want)
	}
	if before.Summary.Parties.Added != sum.Parties-1 {
		t.Errorf("parties added before the review = %d, want %d", before.Summary.Parties.Added, sum.Parties-1)
	}
	some := e.MustBuild(t, "position:10", "position:20")
	if want := e.MustCountChanges(t, 10, 20); some.Events != want {
		t.Errorf("positions 11..20: %d events, want %d", some.Events, want)
	}
	none := e.MustBuild(t, "beginning", "position:0")
	if !none.NoChanges() {
		t.Errorf("until position 0: %d events, want none", none.Events)
	}
	for _, tc := range []struct{ since, until, code string }{
		{"yesterday", "", domain.EINVALID},
		{"", "position:-3", domain.EINVALID},
		{"review:7d0b5c0e-0000-4000-8000-000000000000", "", domain.ENOTFOUND},
		{"", "review:nope", domain.ENOTFOUND},
	} {
		_, err := e.builder().Build(context.Background(), report.Request{Since: tc.since, Until: tc.until})
		if got := domain.ErrorCode(err); got != tc.code {
			t.Errorf("since=%q until=%q: %v (code %q), want %q", tc.since, tc.until, err, got, tc.code)
		}
	}
}

// TestEmptyLog: a report on an empty log is a report with no changes.
func TestEmptyLog(t *testing.T) {
	e := MustOpenEnv(t)
	rep := e.MustBuild(t, "", "")
	if !rep.NoChanges() || rep.Integrity.HeadPosition != 0 || rep.Since.Kind != "beginning" {
		t.Errorf("empty log report: %+v", rep)
	}
	for _, f := range report.Formats {
		if out := MustRender(t, rep, f); len(out) == 0 {
			t.Errorf("%s: empty output", f)
		}
	}
}

// TestAddressingTransitions counts each kind of clause 4.2 c) decision:
// made, reversed both ways, reopened and reworded.
func TestAddressingTransitions(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	pid := e.MustIdentifyParty(t, "Regulator", "external")
	rid := domain.RequirementID(uuid.NewString())
	_, err := e.svc.IdentifyRequirement(ctx, domain.IdentifyRequirement{Meta: meta("new law", "regulatory_change"),
		PartyID: pid, RequirementID: rid, Kind: "requirement", Title: "Report incidents", SourceType: "law", Priority: "high"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	for i, d := range []struct {
		addressed *bool
		rationale string
	}{
		{&yes, "in scope"},                // not yet decided -> addressed
		{&no, "handled by legal"},         // addressed -> not addressed
		{&yes, "back in scope"},           // not addressed -> addressed
		{&yes, "back in scope, reworded"}, // same outcome
		{nil, "to be re-assessed"},        // reopened
		{&no, "out of scope"},             // not yet decided -> not addressed
	} {
		_, err := e.svc.DecideAddressing(ctx, domain.DecideAddressing{Meta: meta("decision "+strconv.Itoa(i), "risk_assessment"),
			PartyID: pid, RequirementID: rid, Addressed: d.addressed, Rationale: d.rationale}, nil)
		if err != nil {
			t.Fatalf("decision %d: %v", i, err)
		}
	}
	rep := e.MustBuild(t, "beginning", "")
	want := report.AddressingCounts{UndecidedToAddressed: 1, UndecidedToNotAddressed: 1, AddressedToNotAddressed: 1,
		NotAddressedToAddressed: 1, Reopened: 1, Reworded: 1}
	if diff := cmp.Diff(want, rep.Summary.Addressing); diff != "" {
		t.Errorf("addressing counts (-want +got):\n%s", diff)
	}
	if rep.Summary.Addressing.Total() != 6 {
		t.Errorf("total = %d, want 6", rep.Summary.Addressing.Total())
	}
}

// fakeCheckpoints is a Checkpointer with a fixed text.
type fakeCheckpoints string

func (f fakeCheckpoints) LatestCheckpoint(context.Context) (string, error) { return string(f), nil }

// TestCheckpointInFooter: the latest signed checkpoint, when available,
// appears in the integrity footer of every human format.
func TestCheckpointInFooter(t *testing.T) {
	e, _ := MustLoadDemo(t)
	b := e.builder()
	const cp = "partyledger checkpoint\n94\nNjVjN2JhZGYzODA0Nzg3NjQy\n\n— partyledger-audit Zm9vYmFy"
	b.Checkpoints = fakeCheckpoints(cp)
	rep, err := b.Build(context.Background(), report.Request{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Integrity.Checkpoint != cp {
		t.Fatalf("checkpoint = %q", rep.Integrity.Checkpoint)
	}
	for _, f := range []report.Format{report.Markdown, report.HTML} {
		out := string(MustRender(t, rep, f))
		if !strings.Contains(out, "partyledger-audit Zm9vYmFy") || strings.Contains(out, "none available") {
			t.Errorf("%s: the checkpoint is not in the footer", f)
		}
	}
}

func TestFileNameAndFormats(t *testing.T) {
	e, _ := MustLoadDemo(t)
	rep := e.MustBuild(t, "", "")
	if got, want := rep.FileName(report.PDF), "partyledger-changes-review-2026-03-12-now-2026-11-02.pdf"; got != want {
		t.Errorf("file name = %q, want %q", got, want)
	}
	rep = e.MustBuild(t, "position:3", "time:2026-06-15T09:30:00Z")
	if got, want := rep.FileName(report.CSV), "partyledger-changes-position-3-20260615T093000Z.csv"; got != want {
		t.Errorf("file name = %q, want %q", got, want)
	}
	for in, want := range map[string]report.Format{"md": report.Markdown, "Markdown": report.Markdown,
		"HTML": report.HTML, " pdf ": report.PDF, "csv": report.CSV, "xlsx": report.XLSX} {
		if got, err := report.ParseFormat(in); err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := report.ParseFormat("docx"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("ParseFormat(docx) = %v, want EINVALID", err)
	}
	if err := report.Render(&bytes.Buffer{}, rep, "docx"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("Render(docx) = %v, want EINVALID", err)
	}
	types := map[report.Format]string{report.Markdown: "text/markdown; charset=utf-8", report.HTML: "text/html; charset=utf-8",
		report.PDF: "application/pdf", report.CSV: "text/csv; charset=utf-8",
		report.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
	for f, want := range types {
		if got := f.ContentType(); got != want {
			t.Errorf("%s content type = %q, want %q", f, got, want)
		}
	}
}
