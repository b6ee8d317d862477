package importer

import (
	"archive/zip"
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/domain"
)

// trickyCSV holds values a spreadsheet would run as formulas, and a cell a
// CSV export defused with a quote.
const trickyCSV = "Party,Scope,Party owner,Requirement,Description,Owner,Source,Treatment,Controls,Next review\n" +
	"=HYPERLINK(\"http://evil\"),external,@ops,+44 hotline answered,\"-1 day\nsecond line\",=cmd,'@ref,'=SUM(A1),\"A.5.19, A.8.24\",2026-05-01\n" +
	"Quiet party,internal,,,,,,,,\n"

func TestExportRoundTrip(t *testing.T) {
	reg := newRegister()
	MustImport(t, reg, "consultant.xlsx")
	MustImport(t, reg, "register-semicolon.csv")
	p := MustPlan(t, reg, MustReadBytes(t, []byte(trickyCSV), Input{Filename: "tricky.csv"}), testOptions())
	reg.apply(t, p)
	tricky := reg.parties[reg.byName[domain.NormalizeName(`=HYPERLINK("http://evil")`)]]
	q := tricky.Requirements[tricky.Order[0]]
	if tricky.Owner != "@ops" || q.Owner != "=cmd" || q.SourceRef != "@ref" || q.Treatment != "=SUM(A1)" || len(q.Controls) != 2 {
		t.Fatalf("tricky party imported as %+v / %+v", tricky, q)
	}

	var buf bytes.Buffer
	if err := WriteXLSX(&buf, reg.list(), testNow); err != nil {
		t.Fatal(err)
	}
	tb := MustReadBytes(t, buf.Bytes(), Input{Filename: "register.xlsx"})
	if len(tb.Errors) != 0 || len(tb.Warnings) != 0 {
		t.Fatalf("export read back with errors %+v warnings %+v", tb.Errors, tb.Warnings)
	}
	if len(tb.Columns) != len(exportColumns) {
		t.Errorf("%d columns recognised, want all %d", len(tb.Columns), len(exportColumns))
	}
	back := MustPlan(t, reg, tb, testOptions())
	if back.Events() != 0 || len(back.Items) != 0 || len(back.Errors) != 0 {
		t.Errorf("export -> import plans %d events: %+v %+v", back.Events(), back.Items, back.Errors)
	}
	if back.Parties != (Counts{Unchanged: 10}) || back.Requirements != (Counts{Unchanged: 12}) {
		t.Errorf("counts parties %+v requirements %+v", back.Parties, back.Requirements)
	}
}

func TestExportSheetShape(t *testing.T) {
	reg := newRegister()
	MustImport(t, reg, "consultant.xlsx")
	p := MustPlan(t, reg, MustReadBytes(t, []byte(trickyCSV), Input{Filename: "tricky.csv"}), testOptions())
	reg.apply(t, p)
	var buf bytes.Buffer
	if err := WriteXLSX(&buf, reg.list(), testNow); err != nil {
		t.Fatal(err)
	}
	xml := sheetXML(t, buf.Bytes(), "xl/worksheets/sheet1.xml")
	// 1 header + 8 consultant requirements + Shareholders + tricky + Quiet party.
	if m := regexp.MustCompile(`<dimension ref="([^"]+)"`).FindStringSubmatch(xml); m == nil || m[1] != "A1:S12" {
		t.Errorf("dimension %v, want A1:S12", m)
	}
	if !regexp.MustCompile(`<autoFilter ref="\$?A\$?1:\$?S\$?12"`).MatchString(xml) {
		t.Errorf("no autofilter over A1:S12")
	}
	pane := regexp.MustCompile(`<pane [^>]*>`).FindString(xml)
	if !strings.Contains(pane, `state="frozen"`) || !strings.Contains(pane, `ySplit="1"`) {
		t.Errorf("header not frozen")
	}
	if strings.Contains(xml, "<f>") || strings.Contains(xml, "<f ") {
		t.Errorf("the sheet has a formula")
	}

	f, err := excelize.OpenReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Review dates are date cells: numbers with a date format.
	raw, _ := f.GetCellValue(ExportSheet, "O2", excelize.Options{RawCellValue: true})
	shown, _ := f.GetCellValue(ExportSheet, "O2")
	if raw != "46203" || shown != "2026-06-30" {
		t.Errorf("O2 raw %q shown %q, want the serial 46203 shown as 2026-06-30", raw, shown)
	}
	for _, c := range []string{"A11", "D11", "I11", "M11", "R11"} {
		typ, err := f.GetCellType(ExportSheet, c)
		if err != nil {
			t.Fatal(err)
		}
		if typ != excelize.CellTypeSharedString && typ != excelize.CellTypeInlineString {
			v, _ := f.GetCellValue(ExportSheet, c)
			t.Errorf("%s (%q) has type %v, want a string cell", c, v, typ)
		}
	}
	if v, _ := f.GetCellValue(ExportSheet, "A11"); v != `=HYPERLINK("http://evil")` {
		t.Errorf("A11 = %q", v)
	}
}

func sheetXML(tb testing.TB, data []byte, name string) string {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				tb.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				tb.Fatal(err)
			}
			return string(b)
		}
	}
	tb.Fatalf("%s not in the workbook", name)
	return ""
}
