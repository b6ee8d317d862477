package report_test

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/handlers/report"
)

// openpyxlReader reads every sheet of an XLSX file in openpyxl's read-only
// (streaming) mode, as pandas and ETL tools do, and prints each sheet's
// declared dimension, its frozen pane and autofilter, and every cell with
// its Python type.
const openpyxlReader = `
import json, sys, datetime, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
out = {}
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        cells = []
        for c in row:
            v = c.value
            if isinstance(v, datetime.datetime):
                cells.append(["datetime", v.isoformat()])
            elif isinstance(v, bool):
                cells.append(["bool", v])
            elif isinstance(v, (int, float)):
                cells.append(["number", v])
            elif v is None:
                cells.append(["none", None])
            else:
                cells.append(["str", str(v)])
        rows.append(cells)
    out[ws.title] = {"dimension": ws.calculate_dimension(), "rows": rows}
json.dump(out, sys.stdout)
`

type pyCell [2]any

type pySheet struct {
	Dimension string     `json:"dimension"`
	Rows      [][]pyCell `json:"rows"`
}

// TestXLSXStreamingReader reads the report back with a streaming reader:
// openpyxl in read-only mode when /usr/bin/python3 has it (Debian package
// python3-openpyxl), and in any case the <dimension>, <pane> and
// <autoFilter> elements of every sheet.
func TestXLSXStreamingReader(t *testing.T) {
	e, _ := MustLoadDemo(t)
	rep := e.MustBuild(t, "beginning", "")
	body := MustRender(t, rep, report.XLSX)

	// The raw sheets: true dimension, frozen header, autofilter.
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	dimRE := regexp.MustCompile(`<dimension ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"`)
	sheets := 0
	tables := 0
	for _, zf := range zr.File {
		if !strings.HasPrefix(zf.Name, "xl/worksheets/sheet") && !strings.HasPrefix(zf.Name, "xl/tables/") {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		x, _ := io.ReadAll(rc)
		rc.Close()
		if strings.HasPrefix(zf.Name, "xl/tables/") {
			if bytes.Contains(x, []byte("<autoFilter")) {
				tables++
			}
			continue
		}
		sheets++
		m := dimRE.FindSubmatch(x)
		if m == nil || !strings.Contains(string(m[1]), ":") {
			t.Errorf("%s: dimension %q, want a range", zf.Name, m)
		}
		if zf.Name != "xl/worksheets/sheet1.xml" { // the table sheets
			if !bytes.Contains(x, []byte(`state="frozen"`)) {
				t.Errorf("%s: header not frozen", zf.Name)
			}
			if !bytes.Contains(x, []byte("<autoFilter")) && !bytes.Contains(x, []byte("<tableParts")) {
				t.Errorf("%s: no autofilter", zf.Name)
			}
		}
	}
	if sheets != 4 || tables != 1 {
		t.Errorf("%d sheets, %d tables with an autofilter; want 4 and 1", sheets, tables)
	}

	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import openpyxl").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openpyxl is not available to /usr/bin/python3; .ci/run installs python3-openpyxl")
		}
		t.Skip("openpyxl not available to /usr/bin/python3 (apt-get install python3-openpyxl)")
	}
	path := filepath.Join(t.TempDir(), "r.xlsx")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", openpyxlReader, path).Output()
	if err != nil {
		t.Fatalf("openpyxl: %v", err)
	}
	var got map[string]pySheet
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	ch := got[report.SheetChanges]
	csvRows := MustParseCSV(t, MustRender(t, rep, report.CSV))
	if len(ch.Rows) != len(csvRows)+1 {
		t.Fatalf("openpyxl read-only sees %d rows of Changes, want %d (dimension %s)", len(ch.Rows), len(csvRows)+1, ch.Dimension)
	}
	for i, name := range report.XLSXChangeColumns {
		if len(ch.Rows[0]) != len(report.XLSXChangeColumns) || ch.Rows[0][i][1] != name {
			t.Fatalf("openpyxl read-only header = %v, want %v", ch.Rows[0], report.XLSXChangeColumns)
		}
	}
	col := func(name string) int { return slices.Index(report.XLSXChangeColumns, name) }
	single := 0
	for r, row := range ch.Rows[1:] {
		csvRow := csvRows[r]
		tm := row[col("time")]
		if tm[0] != "datetime" || !strings.HasPrefix(csvRow[slices.Index(report.ChangeColumns, "time")], tm[1].(string)[:19]) {
			t.Errorf("row %d: time = %v, want a date cell of %s", r+2, tm, csvRow[slices.Index(report.ChangeColumns, "time")])
		}
		pos := row[col("positions")]
		if len(strings.Fields(csvRow[slices.Index(report.ChangeColumns, "positions")])) == 1 {
			single++
			if pos[0] != "number" {
				t.Errorf("row %d: positions = %v, want a number", r+2, pos)
			}
		}
		if name := row[col("party_name")]; name[1] != nil && name[1] != csvRow[slices.Index(report.ChangeColumns, "party_name")] {
			t.Errorf("row %d: party_name = %v", r+2, name)
		}
	}
	if single == 0 {
		t.Error("no row with a single position")
	}
	reg := got[report.SheetRegister]
	if len(reg.Rows) < 2 || reg.Rows[1][4][0] != "number" || reg.Rows[0][0][1] != "party_name" {
		t.Errorf("Register sheet as openpyxl reads it: %v", reg.Rows[:min(2, len(reg.Rows))])
	}
	open := got[report.SheetOpen]
	dates := 0
	for _, row := range open.Rows[1:] {
		if row[9][0] == "datetime" {
			dates++
		}
	}
	if dates == 0 || len(open.Rows) < 2 {
		t.Errorf("Open requirements: %d rows, %d review_due date cells", len(open.Rows), dates)
	}
	if sum := got[report.SheetSummary]; len(sum.Rows) < 10 || len(sum.Rows[1]) < 2 {
		t.Errorf("Summary as openpyxl reads it: dimension %s, %d rows", sum.Dimension, len(sum.Rows))
	}
}
