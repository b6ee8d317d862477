package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/domain"
)

// Sheet names of the XLSX report.
const (
	SheetSummary = "Summary"
	SheetChanges = "Changes"
	SheetOpen    = "Open requirements"
)

// OpenColumns are the columns of the XLSX "Open requirements" sheet: the
// loose ends of the register, one row per requirement; list is undecided,
// past_due or retired_party. Names come before ids.
var OpenColumns = []string{"list", "party_name", "party_scope", "party_category",
	"kind", "title", "owner", "priority", "addressed", "review_due", "party_id", "requirement_id"}

// XLSXChangeColumns are the columns of the XLSX Changes sheet: those of
// [ChangeColumns] with names before ids, for people reading a spreadsheet.
// positions is a number when one event is behind the row, and time is a
// date cell.
var XLSXChangeColumns = []string{"party_name", "party_scope", "party_category",
	"requirement_title", "requirement_kind", "objective_title", "kpi_name", "relationship",
	"change", "field", "from", "to", "time", "actor", "trigger", "reason",
	"positions", "party_id", "requirement_id", "objective_id", "kpi_id", "relationship_id", "event_ids"}

// RegisterColumns are the columns of the XLSX Register sheet: the annex,
// one row per active requirement (or per party without one).
var RegisterColumns = []string{"party_name", "party_category", "party_scope", "party_owner",
	"influence", "interest", "quadrant", "kind", "title", "owner", "priority", "addressed", "review_due",
	"party_id", "requirement_id"}

// SheetRegister is the XLSX sheet of the register annex.
const SheetRegister = "Register"

// xlsxDateFormat is the number format of date-time cells.
const xlsxDateFormat = "yyyy-mm-dd hh:mm:ss"

// xlsxStyles are the cell styles of the workbook.
type xlsxStyles struct{ bold, dateTime, date int }

// maxCellChars is the most characters a spreadsheet cell holds.
const maxCellChars = 32767

// WriteXLSX writes the report as an Excel workbook: a Summary sheet (the
// window, the counts, the integrity footer), a Changes sheet with the rows
// of [ChangeColumns] under a filterable header, and an Open requirements
// sheet. The Changes sheet is streamed, so memory stays bounded by the
// report model rather than by the workbook. Text cells are stored as text
// (never as formulas) and passed through [Defuse].
func WriteXLSX(w io.Writer, r *Report) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	var st xlsxStyles
	var err error
	if st.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return err
	}
	dtFmt, dFmt := xlsxDateFormat, "yyyy-mm-dd"
	if st.dateTime, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dtFmt}); err != nil {
		return err
	}
	if st.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dFmt}); err != nil {
		return err
	}
	if err := writeSummarySheet(f, r, st); err != nil {
		return fmt.Errorf("summary sheet: %w", err)
	}
	if _, err := f.NewSheet(SheetChanges); err != nil {
		return err
	}
	if _, err := writeChangesSheet(f, r, st); err != nil {
		return fmt.Errorf("changes sheet: %w", err)
	}
	if _, err := f.NewSheet(SheetOpen); err != nil {
		return err
	}
	openRows, err := writeOpenSheet(f, r, st)
	if err != nil {
		return fmt.Errorf("open requirements sheet: %w", err)
	}
	if _, err := f.NewSheet(SheetRegister); err != nil {
		return err
	}
	registerRows, err := writeRegisterSheet(f, r, st)
	if err != nil {
		return fmt.Errorf("register sheet: %w", err)
	}
	// Every sheet declares its true extent: streaming readers (openpyxl in
	// read-only mode, pandas, ETL tools) trust <dimension> and would
	// otherwise see column A only.
	for _, d := range []struct {
		sheet      string
		cols, rows int
	}{{SheetSummary, 5, summaryRows(r)}, {SheetOpen, len(OpenColumns), openRows}, {SheetRegister, len(RegisterColumns), registerRows}} {
		end, err := excelize.CoordinatesToCellName(d.cols, max(d.rows, 1))
		if err != nil {
			return err
		}
		if err := f.SetSheetDimension(d.sheet, "A1:"+end); err != nil {
			return fmt.Errorf("dimension of %s: %w", d.sheet, err)
		}
	}
	if err := f.SetDocProps(&excelize.DocProperties{Title: r.Title, Subject: "ISO/IEC 27001:2022 clause 9.3.2 c)",
		Creator: "partyledger", Created: r.GeneratedAt.UTC().Format(time.RFC3339),
		Modified: r.GeneratedAt.UTC().Format(time.RFC3339)}); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	_, err = f.WriteTo(w)
	return err
}

// cell makes a text cell safe for a spreadsheet: defused and cut to the
// cell limit.
func cell(s string) string {
	s = Defuse(s)
	if utf8.RuneCountInString(s) > maxCellChars {
		rs := []rune(s)
		s = string(rs[:maxCellChars-1]) + "…"
	}
	return s
}

// summaryRows is the number of rows of the Summary sheet.
func summaryRows(r *Report) int { return len(summaryLines(r)) }

// summaryLine is one row of the Summary sheet.
type summaryLine struct {
	cells []any
	head  bool
}

func writeSummarySheet(f *excelize.File, r *Report, st xlsxStyles) error {
	bold := st.bold
	lines := summaryLines(r)
	for i, l := range lines {
		if len(l.cells) == 0 {
			continue
		}
		ref, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(SheetSummary, ref, &l.cells); err != nil {
			return err
		}
		if l.head {
			end, _ := excelize.CoordinatesToCellName(len(l.cells), i+1)
			if err := f.SetCellStyle(SheetSummary, ref, end, bold); err != nil {
				return err
			}
		}
		if _, ok := l.cells[len(l.cells)-1].(time.Time); ok {
			end, _ := excelize.CoordinatesToCellName(len(l.cells), i+1)
			if err := f.SetCellStyle(SheetSummary, end, end, st.dateTime); err != nil {
				return err
			}
		}
	}
	if err := f.SetColWidth(SheetSummary, "A", "A", 48); err != nil {
		return err
	}
	return f.SetColWidth(SheetSummary, "B", "D", 20)
}

func summaryLines(r *Report) []summaryLine {
	s := r.Summary
	type line = summaryLine
	text := func(label string, v any) line {
		if str, ok := v.(string); ok {
			v = cell(str)
		}
		return line{cells: []any{label, v}}
	}
	head := func(cells ...any) line { return line{cells: cells, head: true} }
	lines := []line{
		head(r.Title),
		text("Organisation", r.Organisation),
		text("Clause", "ISO/IEC 27001:2022 9.3.2 c), input to the management review"),
		text("Window", r.WindowText()),
		text("From", BoundText(r.Since)),
		text("To", BoundText(r.Until)),
		{cells: []any{"Generated at", r.GeneratedAt.UTC()}},
		text("Generated by", r.GeneratedBy),
		text("Net changes in the window", r.NetChanges),
		text("Events in the window", r.Events),
		{},
		head("Executive summary"),
	}
	for _, e := range r.Executive {
		lines = append(lines, text("", e))
	}
	lines = append(lines, line{})
	if r.NoChanges() {
		lines = append(lines, head("No changes in this window."), line{})
	}
	lines = append(lines,
		head("", "added", "revised", "retired", "reviewed"),
		line{cells: []any{"Parties", s.Parties.Added, s.Parties.Revised, s.Parties.Retired}},
		line{cells: []any{"Requirements", s.Requirements.Added, s.Requirements.Revised, s.Requirements.Retired, s.Requirements.Reviewed}},
		line{cells: []any{"Expectations", s.Expectations.Added, s.Expectations.Revised, s.Expectations.Retired, s.Expectations.Reviewed}},
		line{},
		text("objectives and KPIs changed (clause 6.2)", s.Objectives),
		text("communications planned or sent (clause 7.4)", s.Communications),
		line{},
		head("Addressing decisions (clause 4.2 c)", "events"),
	)
	for _, row := range s.Addressing.Rows() {
		lines = append(lines, text(row.Label, row.N))
	}
	lines = append(lines, text("total", s.Addressing.Total()), line{}, head("Changes by trigger", "net changes"))
	for _, t := range s.ByTrigger {
		lines = append(lines, text(t.Trigger, t.Events))
	}
	lines = append(lines, text("total", r.NetChanges), line{},
		head("Open items", "requirements"),
		text("not yet decided (4.2 c)", len(r.Undecided)),
		text("past their review date (before "+r.Today()+")", len(r.PastDue)),
		text("open on retired parties", openOnRetired(r)),
		line{},
		head("Integrity"),
		text("Log head position", r.Integrity.HeadPosition),
		text("Log head hash", r.Integrity.HeadHash),
		text("Latest signed checkpoint", r.Integrity.Checkpoint),
	)
	if p := r.Previous; p != nil {
		lines = append(lines, line{}, head("Previous review", "due", "status", "owner"), text(p.Review.Title, p.Review.HeldOn))
		for _, d := range p.Review.Decisions {
			lines = append(lines, text("decision", d))
		}
		for _, a := range p.Actions {
			lines = append(lines, line{cells: []any{cell(a.Title), a.DueOn, actionStatus(a), cell(a.Owner)}})
		}
	}
	return lines
}

func openOnRetired(r *Report) int {
	n := 0
	for _, rp := range r.Retired {
		n += len(rp.Requirements)
	}
	return n
}

func writeChangesSheet(f *excelize.File, r *Report, st xlsxStyles) (int, error) {
	// The stream writer writes the sheet's <dimension> when it starts, so
	// the extent is counted and set first.
	rows := 1
	if err := r.eachChangeRow(func([]string) error { rows++; return nil }); err != nil {
		return 0, err
	}
	end, err := excelize.CoordinatesToCellName(len(XLSXChangeColumns), rows)
	if err != nil {
		return 0, err
	}
	if err := f.SetSheetDimension(SheetChanges, "A1:"+end); err != nil {
		return 0, err
	}
	sw, err := f.NewStreamWriter(SheetChanges)
	if err != nil {
		return 0, err
	}
	widths := map[string]float64{"reason": 60, "from": 40, "to": 40, "party_name": 30,
		"requirement_title": 36, "objective_title": 36, "kpi_name": 24, "time": 21, "event_ids": 40,
		"party_id": 38, "requirement_id": 38, "objective_id": 38, "kpi_id": 38, "relationship": 40, "relationship_id": 38}
	src := make([]int, len(XLSXChangeColumns)) // XLSX column -> index in ChangeColumns
	for i, c := range XLSXChangeColumns {
		src[i] = slices.Index(ChangeColumns, c)
		wd, ok := widths[c]
		if !ok {
			wd = 16
		}
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return 0, err
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return 0, err
	}
	vals := make([]any, len(XLSXChangeColumns))
	for i, c := range XLSXChangeColumns {
		vals[i] = excelize.Cell{Value: c, StyleID: st.bold}
	}
	if err := sw.SetRow("A1", vals); err != nil {
		return 0, err
	}
	n := 1
	err = r.eachChangeRow(func(row []string) error {
		n++
		for i, c := range XLSXChangeColumns {
			v := row[src[i]]
			switch c {
			case "positions":
				if p, err := strconv.ParseInt(v, 10, 64); err == nil {
					vals[i] = p // one event: a number; several stay a list
					continue
				}
			case "time":
				if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
					vals[i] = excelize.Cell{Value: t.UTC(), StyleID: st.dateTime}
					continue
				}
			}
			vals[i] = cell(v)
		}
		ref, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		return sw.SetRow(ref, vals)
	})
	if err != nil {
		return 0, err
	}
	if n > 1 {
		end, err := excelize.CoordinatesToCellName(len(XLSXChangeColumns), n)
		if err != nil {
			return 0, err
		}
		// The table carries the autofilter of the sheet.
		if err := sw.AddTable(&excelize.Table{Range: "A1:" + end, Name: "Changes", StyleName: "TableStyleLight9"}); err != nil {
			return 0, err
		}
	}
	return n, sw.Flush()
}

func writeOpenSheet(f *excelize.File, r *Report, st xlsxStyles) (int, error) {
	rows := [][]any{}
	add := func(list string, o OpenRequirement) {
		q := o.Requirement
		rows = append(rows, []any{list, cell(o.Party.Name), o.Party.Scope, o.Party.Category,
			q.Kind, cell(q.Title), cell(q.Owner), q.Priority, RawValue(boolAny(q.Addressed)), dateCell(q.ReviewDue, st),
			o.Party.ID, q.ID})
	}
	for _, o := range r.Undecided {
		add("undecided", o)
	}
	for _, o := range r.PastDue {
		add("past_due", o)
	}
	for _, rp := range r.Retired {
		for _, q := range rp.Requirements {
			add("retired_party", OpenRequirement{Party: rp.Party, Requirement: q})
		}
	}
	return len(rows) + 1, writeTableSheet(f, SheetOpen, OpenColumns, rows, st)
}

func writeRegisterSheet(f *excelize.File, r *Report, st xlsxStyles) (int, error) {
	rows := [][]any{}
	for _, p := range r.Annex {
		party := []any{cell(p.Name), p.Category, p.Scope, cell(p.Owner), p.Influence, p.Interest, Quadrant(p.Influence, p.Interest)}
		if len(p.Requirements) == 0 {
			rows = append(rows, append(slices.Clone(party), "", "", "", "", "", "", p.ID, ""))
		}
		for _, q := range p.Requirements {
			rows = append(rows, append(slices.Clone(party), q.Kind, cell(q.Title), cell(q.Owner), q.Priority,
				RawValue(boolAny(q.Addressed)), dateCell(q.ReviewDue, st), p.ID, q.ID))
		}
	}
	return len(rows) + 1, writeTableSheet(f, SheetRegister, RegisterColumns, rows, st)
}

// writeTableSheet writes a header and rows with a frozen header row and an
// autofilter over the table.
func writeTableSheet(f *excelize.File, sheet string, cols []string, rows [][]any, st xlsxStyles) error {
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = c
	}
	if err := f.SetSheetRow(sheet, "A1", &head); err != nil {
		return err
	}
	end, _ := excelize.CoordinatesToCellName(len(cols), 1)
	if err := f.SetCellStyle(sheet, "A1", end, st.bold); err != nil {
		return err
	}
	for i := range rows {
		ref, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(sheet, ref, &rows[i]); err != nil {
			return err
		}
		for j, v := range rows[i] {
			if c, ok := v.(excelize.Cell); ok {
				ref, _ := excelize.CoordinatesToCellName(j+1, i+2)
				if err := f.SetCellValue(sheet, ref, c.Value); err != nil {
					return err
				}
				if err := f.SetCellStyle(sheet, ref, ref, c.StyleID); err != nil {
					return err
				}
			}
		}
	}
	if err := f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(cols), len(rows)+1)
	if err := f.AutoFilter(sheet, "A1:"+last, nil); err != nil {
		return err
	}
	lastCol, _ := excelize.ColumnNumberToName(len(cols))
	return f.SetColWidth(sheet, "A", lastCol, 20)
}

// dateCell is a YYYY-MM-DD date as a date cell, or "" for none.
func dateCell(p *string, st xlsxStyles) any {
	if p == nil || *p == "" {
		return ""
	}
	t, err := time.Parse(domain.DateLayout, *p)
	if err != nil {
		return cell(*p)
	}
	return excelize.Cell{Value: t, StyleID: st.date}
}

func dateOrEmpty(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
