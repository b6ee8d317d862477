package importer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// Limits on what [Read] accepts.
const (
	// MaxRows is the most data rows one import reads.
	MaxRows = 100_000
	// headerScanRows is how far down a sheet the header row is looked for.
	headerScanRows = 30
	// maxColumns bounds how far to the right cells are read and merged
	// ranges filled: a register has a few dozen columns, and a hostile
	// range as wide as the sheet must not make millions of cells.
	maxColumns = 256
)

// Issue is one error or warning about the file, located as precisely as
// the importer can: the sheet, the 1-based row, the cell ("C7"), the
// column's header text, the field it maps to and the offending value.
type Issue struct {
	Sheet   string `json:"sheet"`
	Row     int    `json:"row"`
	Cell    string `json:"cell"`
	Column  string `json:"column"`
	Field   string `json:"field"`
	Value   string `json:"value"`
	Message string `json:"message"`
}

// Mapping overrides the recognition of headers and values for one file:
// Columns maps a header text to a field name (or "ignore"); Values maps, per
// field, a cell text to the stored value, e.g.
// {"columns": {"Stakeholder group": "name"}, "values": {"category": {"Works council": "employee"}}}.
type Mapping struct {
	Columns map[string]string            `json:"columns,omitempty"`
	Values  map[string]map[string]string `json:"values,omitempty"`
}

// ParseMapping decodes a mapping from JSON and checks that it names only
// known fields. An empty input is an empty mapping.
func ParseMapping(data []byte) (Mapping, error) {
	var m Mapping
	if len(bytes.TrimSpace(data)) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("mapping: %w", err)
	}
	var errs []error
	for h, f := range m.Columns {
		if !knownField(Field(f)) {
			errs = append(errs, fmt.Errorf("mapping: column %q: %q is not a field the importer knows", h, f))
		}
	}
	for f := range m.Values {
		if _, ok := enums[Field(f)]; !ok && f != string(FieldAddressed) && f != string(FieldInfluence) && f != string(FieldInterest) {
			errs = append(errs, fmt.Errorf("mapping: values: %q is not a field with mapped values", f))
		}
	}
	return m, errors.Join(errs...)
}

// Input says how to read one file.
type Input struct {
	// Filename is the uploaded file's name; it is only used in messages.
	Filename string
	// Sheet chooses the worksheet of an XLSX file; empty means the first
	// sheet with a recognisable header.
	Sheet   string
	Mapping Mapping
}

// Column is one recognised column of the header row.
type Column struct {
	Index  int    // 0-based
	Header string // as written in the file
	Field  Field
}

// Table is what [Read] made of a file: the chosen sheet, its header, the
// data rows read into values, and the problems found. Rows whose cells had
// errors are still listed, so that the planner can report what it can.
type Table struct {
	Format    string // "xlsx" or "csv"
	Filename  string
	Sheet     string
	HeaderRow int // 1-based
	Columns   []Column
	Has       map[Field]bool
	Rows      []Row
	Errors    []Issue
	Warnings  []Issue
	columnOf  map[Field]Column
}

// PartyValues are a row's party columns, read.
type PartyValues struct {
	Name        string
	Category    string // "" when blank
	Scope       string
	Owner       string
	Description string
	Influence   int // 0 when blank
	Interest    int
}

// RequirementValues are a row's requirement columns, read.
type RequirementValues struct {
	Title       string
	Kind        string
	Description string
	SourceType  string
	SourceRef   string
	Owner       string
	Priority    string
	ReviewDue   string
	Addressed   *bool
	Rationale   string
	Treatment   string
	Controls    []string
}

// Row is one data row: a party, and the requirement it carries if any.
type Row struct {
	Line        int // 1-based row number in the sheet
	Party       PartyValues
	Requirement *RequirementValues
	Trigger     string
	EffectiveOn string // YYYY-MM-DD or ""
	// Continued says the party name was blank and taken from the row above.
	Continued bool
	raw       map[Field]string
	bad       map[Field]bool // fields whose cell could not be read
}

// Read reads an XLSX workbook or a CSV file (told apart by content) into a
// [Table]. Problems with the file's content are reported in the table's
// Errors; the returned error is only for a failing reader.
func Read(r io.Reader, in Input) (*Table, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", in.Filename, err)
	}
	t := &Table{Filename: in.Filename, Has: map[Field]bool{}, columnOf: map[Field]Column{}}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		t.Format = "xlsx"
		t.readXLSX(data, in)
	} else {
		t.Format = "csv"
		grid, err := readCSV(data)
		if err != nil {
			t.fileError(err.Error())
			return t, nil
		}
		if !t.findHeader(grid, in.Mapping) {
			t.fileError("no header row found: the file needs a column for the party's name (e.g. \"Interested party\") and at least one other known column")
			return t, nil
		}
		t.readRows(grid, in.Mapping)
	}
	return t, nil
}

func (t *Table) fileError(msg string) {
	t.Errors = append(t.Errors, Issue{Sheet: t.Sheet, Message: msg})
}

func (t *Table) readXLSX(data []byte, in Input) {
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.fileError("the file is not a readable XLSX workbook: " + err.Error())
		return
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if in.Sheet != "" {
		found := false
		for _, s := range sheets {
			if s == in.Sheet {
				found = true
			}
		}
		if !found {
			t.fileError(fmt.Sprintf("the workbook has no sheet %q; its sheets are %s", in.Sheet, strings.Join(sheets, ", ")))
			return
		}
		sheets = []string{in.Sheet}
	}
	for _, s := range sheets {
		grid, err := sheetGrid(f, s)
		if err != nil {
			t.fileError(fmt.Sprintf("sheet %q cannot be read: %v", s, err))
			return
		}
		t.Sheet = s
		if t.findHeader(grid, in.Mapping) {
			t.readRows(grid, in.Mapping)
			return
		}
	}
	if in.Sheet != "" {
		t.fileError("no header row found on sheet " + in.Sheet + ": it needs a column for the party's name and at least one other known column")
		return
	}
	t.Sheet = ""
	t.fileError("no sheet has a header row with a column for the party's name (e.g. \"Interested party\") and at least one other known column")
}

// sheetGrid reads a sheet's cells as raw values (date cells as their serial
// number), with each merged range filled with its top-left value. It reads
// the sheet as a stream and stops at [MaxRows]: a small hostile file can
// name row 1,048,576.
func sheetGrid(f *excelize.File, sheet string) ([][]string, error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var grid [][]string
	for rows.Next() {
		if len(grid) >= MaxRows+headerScanRows {
			return nil, fmt.Errorf("it has more than %d rows", MaxRows)
		}
		cols, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, err
		}
		if len(cols) > maxColumns {
			cols = cols[:maxColumns]
		}
		grid = append(grid, cols)
	}
	if err := rows.Error(); err != nil {
		return nil, err
	}
	merged, err := f.GetMergeCells(sheet, true)
	if err != nil {
		return nil, err
	}
	width := 0
	for _, r := range grid {
		width = max(width, len(r))
	}
	width = min(width, maxColumns)
	budget := 4 * (len(grid) + 1) * width // cells merged ranges may fill
	for _, mc := range merged {
		c1, r1, err1 := excelize.CellNameToCoordinates(mc.GetStartAxis())
		c2, r2, err2 := excelize.CellNameToCoordinates(mc.GetEndAxis())
		if err1 != nil || err2 != nil || r1 > len(grid) {
			continue
		}
		v := ""
		if c1-1 < len(grid[r1-1]) {
			v = grid[r1-1][c1-1]
		}
		for r := r1; r <= min(r2, len(grid)); r++ {
			for c := c1; c <= min(c2, width); c++ {
				if budget--; budget < 0 {
					return nil, errors.New("its merged ranges overlap too much")
				}
				for len(grid[r-1]) < c {
					grid[r-1] = append(grid[r-1], "")
				}
				grid[r-1][c-1] = v
			}
		}
	}
	return grid, nil
}

// readCSV decodes a CSV file: UTF-8 with or without a byte order mark,
// separated by commas, semicolons or tabs (whichever splits the first lines
// into the most columns), quoted fields, CRLF or LF line ends.
func readCSV(data []byte) ([][]string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return nil, errors.New("the file is not UTF-8 text: save it as \"CSV UTF-8\"")
	}
	sep, best := ',', -1
	for _, c := range []rune{',', ';', '\t'} {
		cr := csv.NewReader(bytes.NewReader(data))
		cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = c, -1, true
		n := 0
		for i := 0; i < headerScanRows; i++ {
			rec, err := cr.Read()
			if err != nil {
				break
			}
			n = max(n, len(rec))
		}
		if n > best {
			sep, best = c, n
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = sep, -1, true
	var grid [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the CSV cannot be read: %v", err)
		}
		if len(grid) > MaxRows+headerScanRows {
			return nil, fmt.Errorf("the file has more than %d rows", MaxRows)
		}
		// The reader skips empty lines; keep them as empty rows so that row
		// numbers are the file's line numbers.
		line, _ := cr.FieldPos(0)
		for len(grid) < line-1 {
			grid = append(grid, nil)
		}
		grid = append(grid, rec)
	}
	return grid, nil
}

// columnField recognises one header through the mapping, then the synonyms.
func columnField(header string, m Mapping) (Field, bool) {
	key := NormalizeHeader(header)
	for h, f := range m.Columns {
		if NormalizeHeader(h) == key {
			return Field(f), true
		}
	}
	f, ok := headerIndex[key]
	return f, ok
}

// findHeader looks for the header row among the first rows of grid: the
// row with a name column and the most other known columns (at least one).
func (t *Table) findHeader(grid [][]string, m Mapping) bool {
	best, bestScore := -1, 1
	for i := 0; i < len(grid) && i < headerScanRows; i++ {
		fields := map[Field]bool{}
		for _, h := range grid[i] {
			if f, ok := columnField(h, m); ok && f != FieldIgnore {
				fields[f] = true
			}
		}
		// The row with the most known columns wins: a row of group headings
		// above the real header ("Interested party", "Needs and
		// expectations") has a few, the header has more.
		if fields[FieldName] && len(fields) > bestScore {
			best, bestScore = i, len(fields)
		}
	}
	if best < 0 {
		return false
	}
	{
		i := best
		t.HeaderRow = i + 1
		for c, h := range grid[i] {
			if strings.TrimSpace(h) == "" {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, i+1)
			f, ok := columnField(h, m)
			switch {
			case !ok:
				t.Warnings = append(t.Warnings, Issue{Sheet: t.Sheet, Row: i + 1, Cell: cell, Column: h,
					Message: fmt.Sprintf("column %q is not one the importer knows; it is ignored (map it with mapping.columns to read it)", h)})
			case f == FieldIgnore:
			case t.Has[f]:
				t.Warnings = append(t.Warnings, Issue{Sheet: t.Sheet, Row: i + 1, Cell: cell, Column: h, Field: string(f),
					Message: fmt.Sprintf("column %q is a second %s column; only column %q is read", h, f, t.columnOf[f].Header)})
			default:
				col := Column{Index: c, Header: h, Field: f}
				t.Columns = append(t.Columns, col)
				t.Has[f], t.columnOf[f] = true, col
			}
		}
		// Without requirements, "owner" and "description" describe the party.
		if !t.Has[FieldTitle] {
			for from, to := range map[Field]Field{FieldOwner: FieldPartyOwner, FieldDescription: FieldPartyDescription} {
				if t.Has[from] && !t.Has[to] {
					col := t.columnOf[from]
					col.Field = to
					delete(t.Has, from)
					delete(t.columnOf, from)
					t.Has[to], t.columnOf[to] = true, col
					for k := range t.Columns {
						if t.Columns[k].Field == from {
							t.Columns[k].Field = to
						}
					}
				}
			}
		}
		t.missingColumnWarnings()
	}
	return true
}

func (t *Table) missingColumnWarnings() {
	warn := func(msg string) {
		t.Warnings = append(t.Warnings, Issue{Sheet: t.Sheet, Row: t.HeaderRow, Message: msg})
	}
	if !t.Has[FieldCategory] {
		warn("no category column: new parties are imported with category \"other\"")
	}
	if t.Has[FieldTitle] {
		if !t.Has[FieldSourceType] {
			warn("no source type column: new requirements are imported with source type \"other\"")
		}
		if !t.Has[FieldPriority] {
			warn("no priority column: new requirements are imported with priority \"medium\"")
		}
		if !t.Has[FieldKind] {
			warn("no requirement/expectation column: new rows are imported as requirements")
		}
	}
}
