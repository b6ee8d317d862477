package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/handlers/report"
)

// MustParseCSV parses a CSV report and checks its header.
func MustParseCSV(tb testing.TB, b []byte) [][]string {
	tb.Helper()
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		tb.Fatalf("parse CSV: %v", err)
	}
	if len(rows) == 0 || !slices.Equal(rows[0], report.ChangeColumns) {
		tb.Fatalf("CSV header = %q, want %q", rows[:min(1, len(rows))], report.ChangeColumns)
	}
	return rows[1:]
}

// byColumn returns the value of column name in row.
func byColumn(row []string, name string) string {
	return row[slices.Index(report.ChangeColumns, name)]
}

// fieldCount counts the field changes of a report: the CSV's row count.
func fieldCount(rep *report.Report) int {
	n := 0
	for _, g := range [][]report.PartyChanges{rep.Internal, rep.External} {
		for _, pc := range g {
			for _, it := range pc.Items {
				n += max(1, len(it.Fields))
			}
		}
	}
	return n
}

func TestCSV(t *testing.T) {
	e, _ := MustLoadDemo(t)
	rep := e.MustBuild(t, "", "")
	rows := MustParseCSV(t, MustRender(t, rep, report.CSV))
	if len(rows) != fieldCount(rep) {
		t.Fatalf("%d CSV rows, want one per field change: %d", len(rows), fieldCount(rep))
	}
	find := func(partyID, field string) []string {
		t.Helper()
		for _, r := range rows {
			if byColumn(r, "party_id") == partyID && byColumn(r, "field") == field {
				return r
			}
		}
		t.Fatalf("no CSV row for party %s field %s", partyID, field)
		return nil
	}
	cloud := find(string(demo.PartyID("cloud-provider")), "influence")
	pos := strconv.FormatInt(findParty(t, rep, string(demo.PartyID("cloud-provider"))).Items[0].Events[0].Position, 10)
	want := map[string]string{"positions": pos, "time": "2026-06-15T09:30:00Z", "actor": "demo", "trigger": "risk_assessment",
		"party_name": "Cloud hosting provider (IaaS, EU regions)", "party_scope": "external", "party_category": "supplier",
		"requirement_id": "", "change": "party_revised", "from": "4", "to": "5"}
	for col, v := range want {
		if got := byColumn(cloud, col); got != v {
			t.Errorf("cloud provider influence: %s = %q, want %q", col, got, v)
		}
	}
	if !strings.Contains(byColumn(cloud, "reason"), "RA-2026-04") || len(byColumn(cloud, "event_ids")) != 36 {
		t.Errorf("cloud provider influence: reason %q, event ids %q", byColumn(cloud, "reason"), byColumn(cloud, "event_ids"))
	}

	// A field changed by two events names both, with one actor and trigger.
	addressed := find(string(demo.PartyID("pebble-payroll")), "addressed")
	if got := strings.Fields(byColumn(addressed, "positions")); len(got) != 2 || len(strings.Fields(byColumn(addressed, "event_ids"))) != 2 {
		t.Errorf("pebble DPA addressed: positions %q, event ids %q; want two each", byColumn(addressed, "positions"), byColumn(addressed, "event_ids"))
	}
	if byColumn(addressed, "from") != "" || byColumn(addressed, "to") != "true" || byColumn(addressed, "actor") != "demo" ||
		byColumn(addressed, "trigger") != "contract_change" || byColumn(addressed, "requirement_kind") != "requirement" ||
		byColumn(addressed, "requirement_title") != "Data processing agreement for employee data" ||
		byColumn(addressed, "change") != "requirement_added" {
		t.Errorf("pebble DPA addressed row = %q", addressed)
	}
	controls := find(string(demo.PartyID("pebble-payroll")), "controls")
	if got := byColumn(controls, "to"); got != "A.5.19, A.5.20, A.5.34" {
		t.Errorf("controls to = %q", got)
	}
}

func TestXLSX(t *testing.T) {
	e, _ := MustLoadDemo(t)
	rep := e.MustBuild(t, "", "")
	csvRows := MustParseCSV(t, MustRender(t, rep, report.CSV))
	f, err := excelize.OpenReader(bytes.NewReader(MustRender(t, rep, report.XLSX)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{report.SheetSummary, report.SheetChanges, report.SheetOpen, report.SheetRegister}; !slices.Equal(got, want) {
		t.Fatalf("sheets = %q, want %q", got, want)
	}

	// Changes: the header, then the CSV's rows, cell by cell, in the XLSX
	// column order (names before ids). time is a date cell, checked by
	// TestXLSXStreamingReader.
	want := append([][]string{report.ChangeColumns}, csvRows...)
	for r, row := range want {
		for xc, name := range report.XLSXChangeColumns {
			v := row[slices.Index(report.ChangeColumns, name)]
			if r > 0 && name == "time" {
				continue
			}
			ref, _ := excelize.CoordinatesToCellName(xc+1, r+1)
			got, err := f.GetCellValue(report.SheetChanges, ref)
			if err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("Changes!%s (%s) = %q, want %q", ref, name, got, v)
			}
		}
	}
	rows, err := f.GetRows(report.SheetChanges)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("Changes has %d rows, want %d", len(rows), len(want))
	}

	// Summary: labelled values in column B and beyond.
	summary := map[string][]string{}
	srows, err := f.GetRows(report.SheetSummary)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srows {
		if len(r) > 1 {
			summary[r[0]] = r[1:]
		}
	}
	for label, v := range map[string][]string{
		"Organisation":                {"Northwind Cloud Ltd"},
		"Generated by":                {"auditor"},
		"Events in the window":        {"12"},
		"Parties":                     {"1", "1", "1"},
		"Requirements":                {"2", "1", "1", "0"},
		"Expectations":                {"1", "0", "0", "0"},
		"regulatory_change":           {"2"},
		"contract_change":             {"2"},
		"Log head position":           {strconv.FormatInt(rep.Integrity.HeadPosition, 10)},
		"Log head hash":               {rep.Integrity.HeadHash},
		"not yet decided → addressed": {"3"},
	} {
		if diff := cmp.Diff(v, summary[label]); diff != "" {
			t.Errorf("Summary %q (-want +got):\n%s", label, diff)
		}
	}

	// Open requirements: one row per loose end.
	orows, err := f.GetRows(report.SheetOpen)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rep.Undecided) + len(rep.PastDue) + 1; len(orows) != n+1 {
		t.Errorf("Open requirements has %d rows, want a header and %d", len(orows), n)
	}
	last := orows[len(orows)-1]
	if last[0] != "retired_party" || last[1] != "PayFlow HR (payroll and HR SaaS)" || last[5] != "Data processing agreement for employee data" {
		t.Errorf("last open requirement = %q", last)
	}
}

// TestFormulaInjection: text that a spreadsheet would run is defused in the
// CSV and stored as inert text in the XLSX.
func TestFormulaInjection(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	pid := e.MustIdentifyParty(t, `=HYPERLINK("http://evil.example","x")`, "external")
	_, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: domain.Meta{Actor: "tester", Reason: "@SUM(1+1)*cmd|' /C calc'!A0", Trigger: "other"},
		PartyID: pid, Owner: ptr("+44 20 7946 0000"), Description: ptr("-2+3")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := e.MustBuild(t, "beginning", "")
	rows := MustParseCSV(t, MustRender(t, rep, report.CSV))
	var seen int
	for _, r := range rows {
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				t.Errorf("CSV cell %s = %q starts a formula", report.ChangeColumns[i], c)
			}
			if strings.HasPrefix(c, "'") {
				seen++
			}
		}
	}
	if seen == 0 {
		t.Error("no defused cell in the CSV")
	}
	if got := byColumn(rows[0], "party_name"); got != `'=HYPERLINK("http://evil.example","x")` {
		t.Errorf("party name cell = %q", got)
	}

	f, err := excelize.OpenReader(bytes.NewReader(MustRender(t, rep, report.XLSX)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	xrows, err := f.GetRows(report.SheetChanges)
	if err != nil {
		t.Fatal(err)
	}
	for r, row := range xrows {
		for c, v := range row {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if formula, _ := f.GetCellFormula(report.SheetChanges, ref); formula != "" {
				t.Errorf("Changes!%s holds the formula %q", ref, formula)
			}
			if v != "" && strings.ContainsRune("=+-@", rune(v[0])) {
				t.Errorf("Changes!%s = %q starts a formula", ref, v)
			}
		}
	}
}

// TestEscaping: names and reasons cannot inject markup into the Markdown or
// HTML reports.
func TestEscaping(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	name := `<script>alert(1)</script> *bold* | [x](http://evil.example)`
	pid := e.MustIdentifyParty(t, name, "internal")
	_, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: domain.Meta{Actor: "tester", Trigger: "other",
		Reason: "line one\n# not a heading\n<img src=x onerror=alert(2)>"}, PartyID: pid, Owner: ptr("DPO")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := e.MustBuild(t, "beginning", "")
	html := string(MustRender(t, rep, report.HTML))
	for _, bad := range []string{"<script>", "<img", "onerror=alert(2)>"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q unescaped", bad)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("HTML does not show the name escaped")
	}
	if strings.Contains(html, "<script") || strings.Contains(html, "src=") && !strings.Contains(html, "&lt;img src=x") {
		t.Error("HTML has a script or an external resource")
	}
	md := string(MustRender(t, rep, report.Markdown))
	if !strings.Contains(md, `#### \<script\>alert(1)\</script\> \*bold\* \| \[x\](http://evil.example)`) {
		t.Errorf("Markdown heading of the party not escaped:\n%s", md)
	}
	if strings.Contains(md, "\n# not a heading") || !strings.Contains(md, `(reason: line one \# not a heading \<img src=x onerror=alert(2)\>; trigger: other)`) {
		t.Error("Markdown reason not kept on one escaped line")
	}
}

// MustPDFText extracts the text of a PDF with poppler's pdftotext. Without
// pdftotext the test is skipped, except in CI (CI=true), where it fails.
func MustPDFText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext (poppler-utils) is not installed; .ci/run installs it")
		}
		t.Skip("pdftotext (poppler-utils) is not installed")
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", path, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, out)
	}
	return string(out)
}

func TestPDF(t *testing.T) {
	e, _ := MustLoadDemo(t)
	ctx := context.Background()
	// Parties whose names need more than Latin-1 or ASCII, and a reason
	// longer than a page, which must continue on the next page.
	bsi := e.MustIdentifyParty(t, "Bundesamt für Sicherheit in der Informationstechnik", "external")
	e.MustIdentifyParty(t, "Société Générale", "external")
	e.MustIdentifyParty(t, "Εθνική Αρχή Κυβερνοασφάλειας", "external")
	e.MustIdentifyParty(t, "Emoji 🚀 Ltd", "external")
	long := strings.Repeat("This reason is long enough to fill more than one page of the report. ", 140) + "END-OF-LONG-REASON"
	_, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: domain.Meta{Actor: "jürgen", Reason: long, Trigger: "regulatory_change"},
		PartyID: bsi, Owner: ptr("Leiterin Informationssicherheit")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := e.MustBuild(t, "", "")
	pdf := MustRender(t, rep, report.PDF)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(20, len(pdf))])
	}
	text := MustPDFText(t, pdf)
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"Changes in needs and expectations of interested parties", "Northwind Cloud Ltd",
		"Bundesamt für Sicherheit in der Informationstechnik", "Société Générale", "Εθνική Αρχή Κυβερνοασφάλειας",
		"Emoji ? Ltd", "jürgen", "Leiterin Informationssicherheit", "END-OF-LONG-REASON",
		"Cloud hosting provider (IaaS, EU regions)", "Pebble Payroll (payroll and HR SaaS)",
		"Summary", "Addressing decisions (clause 4.2 c)", "Changes by trigger", "Internal parties", "External parties",
		"influence (1–5)", "priority", "critical", "source reference", "addressed (4.2 c)",
		"Support customers' DORA ICT third-party obligations", "Requirements not yet decided",
		"Requirements past their review date (before 2026-11-02)", "Retired parties with open requirements",
		"PayFlow HR (payroll and HR SaaS)", "Integrity", rep.Integrity.HeadHash,
		"Generated 2026-11-02 08:00 UTC by auditor", "page 1 of", "Evidence appendix", "Sign-off",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	// The event table of the long revision continues under a repeated
	// header: "when what happened" appears more often than items exist.
	items := 0
	for _, g := range [][]report.PartyChanges{rep.Internal, rep.External} {
		for _, pc := range g {
			items += len(pc.Items)
		}
	}
	if n := strings.Count(flat, "when what happened"); n <= items {
		t.Errorf("event table header printed %d times for %d items; the long row should repeat it", n, items)
	}
}

// TestNoChangesInEveryFormat: an empty window gives a report that says so,
// in every format, not an error.
func TestNoChangesInEveryFormat(t *testing.T) {
	e, _ := MustLoadDemo(t)
	rep := e.MustBuild(t, "position:"+strconv.FormatInt(e.MustHead(t), 10), "")
	if !rep.NoChanges() {
		t.Fatalf("%d events after the head", rep.Events)
	}
	for _, f := range []report.Format{report.Markdown, report.HTML} {
		if out := string(MustRender(t, rep, f)); !strings.Contains(out, "No changes.") {
			t.Errorf("%s does not say there were no changes", f)
		}
	}
	if rows := MustParseCSV(t, MustRender(t, rep, report.CSV)); len(rows) != 0 {
		t.Errorf("CSV has %d rows, want the header only", len(rows))
	}
	f, err := excelize.OpenReader(bytes.NewReader(MustRender(t, rep, report.XLSX)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	srows, _ := f.GetRows(report.SheetSummary)
	if !slices.ContainsFunc(srows, func(r []string) bool { return len(r) > 0 && r[0] == "No changes in this window." }) {
		t.Errorf("Summary does not say there were no changes: %q", srows)
	}
	if rows, _ := f.GetRows(report.SheetChanges); len(rows) != 1 {
		t.Errorf("Changes sheet has %d rows, want the header only", len(rows))
	}
	text := MustPDFText(t, MustRender(t, rep, report.PDF))
	if !strings.Contains(strings.Join(strings.Fields(text), " "), "No changes. No interested party") {
		t.Errorf("PDF does not say there were no changes:\n%s", text)
	}
}

func ptr[T any](v T) *T { return &v }
