package report_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/report"
)

// withoutGenerated drops the lines that name when and by whom the report
// was generated: the only ones allowed to differ between two generations of
// a closed window's report.
func withoutGenerated(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "Generated") && !strings.Contains(l, "generated") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// TestClosedWindowReproducible generates the report of a closed window
// (review B to review C), changes the register and completes an action
// after C, and generates it again a day later: the documents are the same
// apart from the generated line, and they show the register, the open
// items and the actions as they stood at C.
func TestClosedWindowReproducible(t *testing.T) {
	e, _ := MustLoadDemo(t)
	ctx := context.Background()
	hold := func(actions ...domain.ActionInput) domain.ReviewID {
		t.Helper()
		res, err := e.svc.HoldManagementReview(ctx, domain.HoldManagementReview{Meta: meta("", "management_review"),
			HeldOn: "2026-06-15", Decisions: []string{"Extend the scope to the DR site."}, Actions: actions})
		if err != nil {
			t.Fatal(err)
		}
		return domain.ReviewID(strings.TrimPrefix(res.Stream, domain.ReviewStreamPrefix))
	}
	aid := domain.ActionID("01975f2c-0000-7000-8000-0000000000a1")
	b := hold(domain.ActionInput{ActionID: aid, Title: "Update the SoA", Owner: "CISO", DueOn: "2026-06-01"})
	e.MustIdentifyParty(t, "Payments regulator", "external")
	c := hold()

	build := func(now time.Time) *report.Report {
		t.Helper()
		bl := e.builder()
		bl.Now = func() time.Time { return now }
		rep, err := bl.Build(ctx, report.Request{Since: "review:" + string(b), Until: "review:" + string(c), GeneratedBy: "auditor"})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	first := build(reportClock)
	if !first.Closed || !first.Integrity.WindowEnd || first.Integrity.HeadHash == "" || first.Previous == nil ||
		len(first.Previous.Actions) != 1 || !first.Previous.Actions[0].Overdue {
		t.Fatalf("first report: closed %v, integrity %+v, previous %+v", first.Closed, first.Integrity, first.Previous)
	}
	renders := map[report.Format][]byte{}
	for _, f := range []report.Format{report.Markdown, report.HTML} {
		renders[f] = MustRender(t, first, f)
	}
	firstPDF := MustPDFText(t, MustRender(t, first, report.PDF))

	// After C: the register changes, the action is completed.
	e.MustIdentifyParty(t, "Late arrival", "external")
	if _, err := e.svc.CompleteAction(ctx, domain.CompleteAction{Meta: meta("", "other"), ReviewID: b, ActionID: aid,
		Evidence: "SoA v7"}); err != nil {
		t.Fatal(err)
	}

	second := build(reportClock.Add(24 * time.Hour))
	for f, want := range renders {
		got := MustRender(t, second, f)
		if bytes.Equal(got, want) {
			t.Errorf("%s: identical bytes; the generated line should differ", f)
		}
		if withoutGenerated(got) != withoutGenerated(want) {
			t.Errorf("%s: the report of a closed window changed after the window:\n--- first\n%s\n--- second\n%s", f,
				withoutGenerated(want), withoutGenerated(got))
		}
	}
	md := string(renders[report.Markdown])
	for _, want := range []string{"## Executive summary", "## Power–interest grid", "Extend the scope to the DR site.",
		"| Update the SoA | CISO | 2026-06-01 | open, overdue |", "Payments regulator", "## Sign-off",
		"Last event of the window: position"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if strings.Contains(md, "Late arrival") {
		t.Error("the annex shows a party identified after the window")
	}
	if html := string(renders[report.HTML]); !strings.Contains(html, "<svg") || !strings.Contains(html, "Payments regulator</text>") {
		t.Error("HTML lacks the inline power–interest grid")
	}

	// The PDF reads back with the same sections, and the same text.
	for _, want := range []string{"Executive summary", "Power–interest grid", "Decisions and actions of the previous review",
		"Update the SoA", "Annex: the register as of position", "Sign-off", "Last event of the window"} {
		if !strings.Contains(firstPDF, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if got := MustPDFText(t, MustRender(t, second, report.PDF)); withoutGenerated([]byte(got)) != withoutGenerated([]byte(firstPDF)) {
		t.Errorf("PDF text changed after the window:\n--- first\n%s\n--- second\n%s", firstPDF, got)
	}

	// An open window (until now) shows the action done.
	now := e.MustBuild(t, "review:"+string(b), "")
	if now.Closed || now.Previous.Actions[0].Status != domain.ActionDone {
		t.Errorf("open window: closed %v, action %+v", now.Closed, now.Previous.Actions[0])
	}
}
