package importer

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// update regenerates the files under testdata:
//
//	go test ./handlers/importer/ -run TestGenerateTestdata -update
var update = flag.Bool("update", false, "regenerate the files under testdata")

// TestGenerateTestdata writes the realistic input files the other tests
// read. Without -update it only checks that they are there and that the
// generator still runs.
func TestGenerateTestdata(t *testing.T) {
	files := map[string][]byte{
		"consultant.xlsx":        consultantXLSX(t),
		"register-semicolon.csv": semicolonCSV(),
		"errors.xlsx":            errorsXLSX(t),
	}
	for name, data := range files {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s is missing: run with -update (%v)", path, err)
		}
	}
}

func day(s string) time.Time {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return d
}

// consultantXLSX is a register as consultants hand it over: a guidance sheet
// first, title rows, merged group headings above the header, party cells
// merged down over their requirements, High/Medium/Low, Yes/No, date cells
// in dd/mm/yyyy format, a "Ref" column the importer does not know and no
// source type column.
func consultantXLSX(tb testing.TB) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(f.SetSheetName("Sheet1", "Guidance"))
	for i, line := range []string{
		"How to maintain this register",
		"",
		"List every interested party relevant to the ISMS (clause 4.2 a) and what they need (4.2 b).",
		"Influence and interest: rate High, Medium or Low.",
		"Addressed by ISMS?: Yes or No, and say how in the next column.",
		"Review the register at least once a year and before each management review.",
	} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		must(f.SetCellStr("Guidance", cell, line))
	}
	const s = "Register"
	_, err := f.NewSheet(s)
	must(err)
	must(f.SetCellStr(s, "A1", "ACME Ltd — Register of interested parties (ISO/IEC 27001:2022 clause 4.2)"))
	must(f.MergeCell(s, "A1", "N1"))
	must(f.SetCellStr(s, "A2", "Prepared by Northwind Consulting · version 3.1 · approved by the CISO"))
	must(f.MergeCell(s, "A2", "N2"))
	must(f.SetCellStr(s, "A4", "INTERESTED PARTY"))
	must(f.MergeCell(s, "A4", "F4"))
	must(f.SetCellStr(s, "G4", "NEEDS AND EXPECTATIONS"))
	must(f.MergeCell(s, "G4", "N4"))
	header := []any{"Ref", "Interested Party", "Internal / External", "Category", "Influence (1-5)", "Interest (H/M/L)",
		"Needs & Expectations", "Requirement / Expectation", "Legal reference", "Addressed by ISMS?",
		"How addressed", "Owner", "Priority", "Review date"}
	must(f.SetSheetRow(s, "A5", &header))
	type req struct {
		title, kind, ref, addressed, how, owner, prio, due string
	}
	type party struct {
		ref, name, scope, cat string
		infl, inter           any
		reqs                  []req
	}
	parties := []party{
		{"IP-01", "Customers", "External", "Customer", "High", "High", []req{
			{"Protection of customer data", "Requirement", "GDPR Art. 32; MSA §7.2", "Yes", "Access control and encryption at rest (A.8.24)", "CISO", "High", "2026-06-30"},
			{"Availability of the service of at least 99.5 %", "Expectation", "SLA schedule 2", "Yes", "Redundant hosting; continuity plan tested yearly", "Head of Operations", "High", "2026-03-31"},
			{"Timely notification of security incidents", "Requirement", "MSA §9.1", "Yes", "Incident response procedure", "CISO", "Medium", "2026-06-30"},
		}},
		{"IP-02", "Data protection authority", "External", "Regulatory body", "High", "Medium", []req{
			{"Breach notification within 72 hours", "Requirement", "GDPR Art. 33", "Yes", "Incident response procedure, DPO on call", "DPO", "High", "2026-09-30"},
			{"Records of processing activities", "Requirement", "GDPR Art. 30", "No", "", "DPO", "Medium", "2026-09-30"},
		}},
		{"IP-03", "Employees", "Internal", "Staff", "Medium", "High", []req{
			{"Clear security policies and training", "Expectation", "", "Yes", "Awareness programme", "HR manager", "Medium", "2026-12-31"},
			{"Confidential handling of their personal data", "Expectation", "Employment contract §12", "Yes", "HR data access restricted", "HR manager", "Medium", "2026-12-31"},
		}},
		{"IP-04", "Cloud hosting provider", "External", "Supplier", 4, "Low", []req{
			{"Payment within 30 days", "Requirement", "Hosting agreement §4", "No", "Handled by finance", "CFO", "Low", "2027-01-31"},
		}},
		{"IP-05", "Shareholders", "External", "Investors", 2, "Medium", nil},
	}
	dateFmt := "dd/mm/yyyy"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	must(err)
	r := 6
	for _, p := range parties {
		n := max(len(p.reqs), 1)
		partyCells := []any{p.ref, p.name, p.scope, p.cat, p.infl, p.inter}
		for i, v := range partyCells {
			cell, _ := excelize.CoordinatesToCellName(i+1, r)
			must(f.SetCellValue(s, cell, v))
			if n > 1 {
				end, _ := excelize.CoordinatesToCellName(i+1, r+n-1)
				must(f.MergeCell(s, cell, end))
			}
		}
		for i, q := range p.reqs {
			row := []any{q.title, q.kind, q.ref, q.addressed, q.how, q.owner, q.prio, day(q.due)}
			cell, _ := excelize.CoordinatesToCellName(7, r+i)
			must(f.SetSheetRow(s, cell, &row))
			dc, _ := excelize.CoordinatesToCellName(14, r+i)
			must(f.SetCellStyle(s, dc, dc, dateStyle))
		}
		r += n
		if p.ref == "IP-02" {
			r++ // a blank row, as people leave them
		}
	}
	return xlsxBytes(tb, f)
}

// semicolonCSV is a register saved by a spreadsheet in a locale that
// separates with semicolons: a byte order mark, CRLF line ends, a quoted
// field with a semicolon inside, a blank line, day-first dates, a cell
// defused by a quote, and a party row without requirements.
func semicolonCSV() []byte {
	lines := []string{
		"Stakeholder;Type;Category;Power;Interest;Requirement;Kind;Source;Source type;Addressed;Treatment;Responsible;Priority;Next review",
		`Auditors;Ext;Certification body;Medium;High;"Evidence of a working ISMS; audit trail";requirement;ISO/IEC 27001 cl. 9.2;standard;y;Internal audit programme;ISMS manager;high;15/01/2027`,
		`Auditors;Ext;Certification body;Medium;High;Access to records during audits;expectation;Audit contract;contract;✓;;ISMS manager;medium;2027-01-15`,
		``,
		`Press;Ext;Media;Low;Medium;'-5 % budget rumours answered by communications only;expectation;;other;n;;Head of Communications;low;31.12.2026`,
		`Local community;external;Community;2;1;;;;;;;;;`,
	}
	return []byte("\ufeff" + strings.Join(lines, "\r\n") + "\r\n")
}

// errorsXLSX is a file with one problem per kind: a level that is neither
// High/Medium/Low nor 1-5, an unknown category, an answer that is not yes or
// no, an impossible date, a scope that is neither internal nor external,
// party columns that disagree between rows, an interest out of range, and a
// new party without a scope (found by the domain's validation).
func errorsXLSX(tb testing.TB) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	const s = "Parties"
	if err := f.SetSheetName("Sheet1", s); err != nil {
		tb.Fatal(err)
	}
	rows := [][]any{
		{"Interested party", "Internal/External", "Category", "Influence", "Interest", "Requirement", "Addressed", "Next review"},
		{"Customers", "External", "Customer", "Very high", "High", "Data protection", "Yes", "2026-06-30"},
		{"Aliens", "External", "Extraterrestrials", "Low", "Low", "First contact protocol", "maybe", "31/02/2026"},
		{"Partners", "Sideways", "Partner", "3", "3", "", "", ""},
		{"Customers", "Internal", "Customer", "", "", "Service availability", "No", ""},
		{"Suppliers", "External", "Supplier", "3", "7", "Timely payment", "", ""},
		{"Landlord", "", "Landlord", "2", "2", "", "", ""},
	}
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow(s, cell, &row); err != nil {
			tb.Fatal(err)
		}
	}
	return xlsxBytes(tb, f)
}

func xlsxBytes(tb testing.TB, f *excelize.File) []byte {
	tb.Helper()
	if err := f.SetDocProps(&excelize.DocProperties{Creator: "importer test data",
		Created: "2026-01-05T09:00:00Z", Modified: "2026-01-05T09:00:00Z"}); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
