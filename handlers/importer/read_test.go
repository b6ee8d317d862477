package importer

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/handlers/csvsafe"
)

func TestNormalizeHeader(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Needs & Expectations", "needs and expectations"},
		{"  Influence (1-5) ", "influence"},
		{"Addressed by ISMS?", "addressed by isms"},
		{"Internal / External", "internal external"},
		{"INT/EXT", "int ext"},
		{"Review date [dd/mm/yyyy]", "review date"},
		{"source_type", "source type"},
	} {
		if got := NormalizeHeader(tc.in); got != tc.want {
			t.Errorf("NormalizeHeader(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseValues(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		in   string
		want *bool
		bad  bool
	}{
		{"Yes", &yes, false}, {"n", &no, false}, {"TRUE", &yes, false}, {"✓", &yes, false}, {"x", &no, false},
		{"", nil, false}, {"not decided", nil, false}, {"maybe", nil, true},
	} {
		got, err := parseBool(tc.in, nil)
		if (err != nil) != tc.bad || !cmp.Equal(got, tc.want) {
			t.Errorf("parseBool(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
	for _, tc := range []struct {
		in   string
		want int
		bad  bool
	}{
		{"High", 5, false}, {"medium", 3, false}, {"LOW", 1, false}, {"4", 4, false}, {"2.0", 2, false},
		{"Very high", 0, true}, {"6", 0, true}, {"0", 0, true}, {"2.5", 0, true},
	} {
		got, err := parseLevel(tc.in, nil)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseLevel(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
	for _, tc := range []struct {
		f        Field
		in, want string
		bad      bool
	}{
		{FieldCategory, "Regulatory body", "regulator", false},
		{FieldCategory, "authority", "regulator", false},
		{FieldCategory, "Government customer", "government_customer", false},
		{FieldCategory, "government_customer", "government_customer", false},
		{FieldCategory, "Works council", "", true},
		{FieldScope, "Int", "internal", false},
		{FieldScope, "EXTERNAL", "external", false},
		{FieldScope, "both", "", true},
		{FieldSourceType, "Legislation", "law", false},
		{FieldSourceType, "Market research", "market_research", false},
		{FieldPriority, "Critical", "critical", false},
		{FieldTrigger, "Audit finding", "audit_finding", false},
	} {
		got, err := parseEnum(tc.f, tc.in, nil)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseEnum(%s, %q) = %q, %v; want %q, error %v", tc.f, tc.in, got, err, tc.want, tc.bad)
		}
	}
	for _, tc := range []struct {
		in   string
		xlsx bool
		want string
		bad  bool
	}{
		{"46203", true, "2026-06-30", false},
		{"46203", false, "", true},
		{"2026-06-30", false, "2026-06-30", false},
		{"30/06/2026", false, "2026-06-30", false},
		{"3/6/2026", false, "2026-06-03", false},
		{"30.06.2026", false, "2026-06-30", false},
		{"31/02/2026", false, "", true},
		{"next spring", true, "", true},
	} {
		got, err := parseDate(tc.in, tc.xlsx)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseDate(%q, %v) = %q, %v; want %q, error %v", tc.in, tc.xlsx, got, err, tc.want, tc.bad)
		}
	}
}

// TestUndefuse checks that CSV cells keep the shared csvsafe inverse of the
// export's defusing.
func TestUndefuse(t *testing.T) {
	for in, want := range map[string]string{"'=SUM(A1)": "=SUM(A1)", "'-5 %": "-5 %", "'@ops": "@ops",
		"'+44": "+44", "'quoted'": "'quoted'", "'": "'", "plain": "plain"} {
		if got := csvsafe.Undefuse(in); got != want {
			t.Errorf("Undefuse(%q) = %q, want %q", in, got, want)
		}
	}
}

var rowOpts = cmp.Options{cmpopts.IgnoreUnexported(Row{}), cmpopts.EquateEmpty()}

func TestReadConsultantXLSX(t *testing.T) {
	tb := MustRead(t, "consultant.xlsx", Input{Filename: "consultant.xlsx"})
	if len(tb.Errors) != 0 {
		t.Fatalf("errors: %+v", tb.Errors)
	}
	// The guidance sheet comes first; the group headings on row 4 lose to
	// the real header on row 5.
	if tb.Format != "xlsx" || tb.Sheet != "Register" || tb.HeaderRow != 5 {
		t.Fatalf("format %s sheet %q header row %d, want xlsx Register 5", tb.Format, tb.Sheet, tb.HeaderRow)
	}
	if got := len(tb.Rows); got != 9 {
		t.Fatalf("%d rows, want 9 (the blank row 11 skipped)", got)
	}
	yes := true
	want := []Row{
		{Line: 7, Party: PartyValues{Name: "Customers", Category: "customer", Scope: "external", Influence: 5, Interest: 5},
			Requirement: &RequirementValues{Title: "Availability of the service of at least 99.5 %", Kind: "expectation",
				SourceRef: "SLA schedule 2", Owner: "Head of Operations", Priority: "high", ReviewDue: "2026-03-31",
				Addressed: &yes, Treatment: "Redundant hosting; continuity plan tested yearly"}},
		{Line: 14, Party: PartyValues{Name: "Cloud hosting provider", Category: "supplier", Scope: "external", Influence: 4, Interest: 1},
			Requirement: &RequirementValues{Title: "Payment within 30 days", Kind: "requirement", SourceRef: "Hosting agreement §4",
				Owner: "CFO", Priority: "low", ReviewDue: "2027-01-31", Addressed: new(bool), Treatment: "Handled by finance"}},
		{Line: 15, Party: PartyValues{Name: "Shareholders", Category: "shareholder", Scope: "external", Influence: 2, Interest: 3}},
	}
	got := []Row{tb.Rows[1], tb.Rows[7], tb.Rows[8]}
	if d := cmp.Diff(want, got, rowOpts); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
	// Row 8's party cells are merged down from row 6.
	if r := tb.Rows[2]; r.Line != 8 || r.Party.Name != "Customers" || r.Party.Influence != 5 || r.Continued {
		t.Errorf("row 8 = %+v, want the merged Customers cells", r)
	}
	var msgs []string
	for _, w := range tb.Warnings {
		msgs = append(msgs, w.Cell+" "+w.Message)
	}
	wantWarn := []string{
		`A5 column "Ref" is not one the importer knows; it is ignored (map it with mapping.columns to read it)`,
		` no source type column: new requirements are imported with source type "other"`,
	}
	if d := cmp.Diff(wantWarn, msgs); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
}

func TestReadSemicolonCSV(t *testing.T) {
	tb := MustRead(t, "register-semicolon.csv", Input{Filename: "register.csv"})
	if len(tb.Errors) != 0 || len(tb.Warnings) != 0 {
		t.Fatalf("errors %+v warnings %+v", tb.Errors, tb.Warnings)
	}
	if tb.Format != "csv" || tb.HeaderRow != 1 || len(tb.Columns) != 14 {
		t.Fatalf("format %s header row %d, %d columns; want csv, 1, 14", tb.Format, tb.HeaderRow, len(tb.Columns))
	}
	yes, no := true, false
	want := []Row{
		{Line: 2, Party: PartyValues{Name: "Auditors", Category: "auditor", Scope: "external", Influence: 3, Interest: 5},
			Requirement: &RequirementValues{Title: "Evidence of a working ISMS; audit trail", Kind: "requirement",
				SourceType: "standard", SourceRef: "ISO/IEC 27001 cl. 9.2", Owner: "ISMS manager", Priority: "high",
				ReviewDue: "2027-01-15", Addressed: &yes, Treatment: "Internal audit programme"}},
		{Line: 3, Party: PartyValues{Name: "Auditors", Category: "auditor", Scope: "external", Influence: 3, Interest: 5},
			Requirement: &RequirementValues{Title: "Access to records during audits", Kind: "expectation",
				SourceType: "contract", SourceRef: "Audit contract", Owner: "ISMS manager", Priority: "medium",
				ReviewDue: "2027-01-15", Addressed: &yes}},
		{Line: 5, Party: PartyValues{Name: "Press", Category: "media", Scope: "external", Influence: 1, Interest: 3},
			Requirement: &RequirementValues{Title: "-5 % budget rumours answered by communications only", Kind: "expectation",
				SourceType: "other", Owner: "Head of Communications", Priority: "low", ReviewDue: "2026-12-31", Addressed: &no}},
		{Line: 6, Party: PartyValues{Name: "Local community", Category: "community", Scope: "external", Influence: 2, Interest: 1}},
	}
	if d := cmp.Diff(want, tb.Rows, rowOpts); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}
}

func TestReadCommaCSVWithTitleRows(t *testing.T) {
	data := "Register of interested parties,,\nexported 2026-01-05,,\n\nParty,Scope,Requirement\n" +
		"\"Acme, Inc.\",external,\"Pay on time, always\"\n,,Second requirement\n"
	tb := MustReadBytes(t, []byte(data), Input{})
	if len(tb.Errors) != 0 {
		t.Fatalf("errors: %+v", tb.Errors)
	}
	if tb.HeaderRow != 4 || len(tb.Rows) != 2 {
		t.Fatalf("header row %d, %d rows; want 4 and 2", tb.HeaderRow, len(tb.Rows))
	}
	if r := tb.Rows[0]; r.Party.Name != "Acme, Inc." || r.Requirement.Title != "Pay on time, always" {
		t.Errorf("row 5 = %+v", r)
	}
	// A blank name under a party continues it.
	if r := tb.Rows[1]; r.Party.Name != "Acme, Inc." || !r.Continued || r.Requirement.Title != "Second requirement" {
		t.Errorf("row 6 = %+v", r)
	}
}

func TestReadRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		data string
		in   Input
		want string
	}{
		{"not UTF-8", "Party;Scope\nM\xfcller GmbH;external\n", Input{}, "not UTF-8"},
		{"no header", "a,b,c\n1,2,3\n", Input{}, "no header row found"},
		{"not a workbook", "PK\x03\x04garbage", Input{}, "not a readable XLSX workbook"},
		{"name missing", "Party,Scope,Requirement\n,external,Orphan\n", Input{}, "the party's name is required"},
		{"requirement columns without a title", "Party,Scope,Requirement,Owner\nAcme,external,,CISO\n", Input{},
			"a requirement's owner is given but its title is blank"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := MustReadBytes(t, []byte(tc.data), tc.in)
			if len(tb.Errors) != 1 || !strings.Contains(tb.Errors[0].Message, tc.want) {
				t.Fatalf("errors %+v, want one saying %q", tb.Errors, tc.want)
			}
		})
	}
}

func TestReadSheetChoice(t *testing.T) {
	tb := MustRead(t, "consultant.xlsx", Input{Sheet: "Register"})
	if len(tb.Errors) != 0 || len(tb.Rows) != 9 {
		t.Fatalf("sheet Register: errors %+v, %d rows", tb.Errors, len(tb.Rows))
	}
	tb = MustRead(t, "consultant.xlsx", Input{Sheet: "Guidance"})
	if len(tb.Errors) != 1 || !strings.Contains(tb.Errors[0].Message, "no header row found on sheet Guidance") {
		t.Errorf("sheet Guidance: errors %+v", tb.Errors)
	}
	tb = MustRead(t, "consultant.xlsx", Input{Sheet: "Parties"})
	if len(tb.Errors) != 1 || tb.Errors[0].Message != `the workbook has no sheet "Parties"; its sheets are Guidance, Register` {
		t.Errorf("sheet Parties: errors %+v", tb.Errors)
	}
}

func TestReadMapping(t *testing.T) {
	m, err := ParseMapping([]byte(`{"columns": {"Stakeholder group": "name", "Ref": "ignore"},
		"values": {"category": {"Works council": "employee"}, "influence": {"Very high": "5"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	data := "Ref,Stakeholder group,Category,Influence,Owner\nS1,Works council,Works council,Very high,HR director\n"
	tb := MustReadBytes(t, []byte(data), Input{Mapping: m})
	if len(tb.Errors) != 0 {
		t.Fatalf("errors: %+v", tb.Errors)
	}
	// "Ref" is ignored without a warning; without a title column "Owner" is the party's.
	want := PartyValues{Name: "Works council", Category: "employee", Influence: 5, Owner: "HR director"}
	if d := cmp.Diff(want, tb.Rows[0].Party); d != "" {
		t.Errorf("party (-want +got):\n%s", d)
	}
	if len(tb.Warnings) != 0 {
		t.Errorf("warnings %+v, want none", tb.Warnings)
	}
	for _, bad := range []string{`{"columns": {"X": "nmae"}}`, `{"values": {"title": {"a": "b"}}}`, `{"colums": {}}`} {
		if _, err := ParseMapping([]byte(bad)); err == nil {
			t.Errorf("ParseMapping(%s) succeeded, want an error", bad)
		}
	}
}

func TestReadTypedCells(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	rows := [][]any{
		{"Party", "Scope", "Requirement", "Addressed", "Influence", "Next review"},
		{"Acme", "external", "Boolean and number cells", true, 4.0, 46203.0},
		{"Acme", "external", "Text cells", false, 2, "2026-06-30"},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	// A merged range as wide as the sheet is filled only as far as needed.
	if err := f.MergeCell("Sheet1", "G2", "XFD3"); err != nil {
		t.Fatal(err)
	}
	tb := MustReadBytes(t, xlsxBytes(t, f), Input{})
	if len(tb.Errors) != 0 || len(tb.Rows) != 2 {
		t.Fatalf("errors %+v, %d rows", tb.Errors, len(tb.Rows))
	}
	for i, want := range []struct {
		addressed bool
		influence int
	}{{true, 4}, {false, 2}} {
		r := tb.Rows[i]
		if *r.Requirement.Addressed != want.addressed || r.Party.Influence != want.influence || r.Requirement.ReviewDue != "2026-06-30" {
			t.Errorf("row %d = %+v %+v", r.Line, r.Party, *r.Requirement)
		}
	}
}

func TestReadHostileXLSX(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	for i, row := range [][]any{{"Party", "Scope"}, {"far away", "external"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	// Move row 2 to the sheet's last row: a file of a few kilobytes that
	// names row 1,048,576. The reader must not build a million rows.
	data := rewriteZip(t, xlsxBytes(t, f), "xl/worksheets/sheet1.xml", func(x string) string {
		return strings.NewReplacer(`<row r="2"`, `<row r="1048576"`, `r="A2"`, `r="A1048576"`, `r="B2"`, `r="B1048576"`).Replace(x)
	})
	tb := MustReadBytes(t, data, Input{})
	if len(tb.Errors) != 1 || !strings.Contains(tb.Errors[0].Message, "more than 100000 rows") {
		t.Errorf("errors %+v", tb.Errors)
	}
}

// rewriteZip returns the zip archive data with one file's text edited.
func rewriteZip(tb testing.TB, data []byte, name string, edit func(string) string) []byte {
	tb.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			tb.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			tb.Fatal(err)
		}
		if f.Name == name {
			if e := edit(string(b)); e != string(b) {
				b = []byte(e)
			} else {
				tb.Fatalf("the edit changed nothing in %s", name)
			}
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			tb.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
