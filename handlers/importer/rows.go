package importer

import (
	"errors"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/handlers/csvsafe"
)

// readRows reads every data row below the header. Blank rows are skipped.
func (t *Table) readRows(grid [][]string, m Mapping) {
	values := map[Field]map[string]string{}
	for f, vs := range m.Values {
		values[Field(f)] = map[string]string{}
		for k, v := range vs {
			values[Field(f)][NormalizeHeader(k)] = v
		}
	}
	var prev *Row
	for i := t.HeaderRow; i < len(grid); i++ {
		rec := grid[i]
		blank := true
		for _, col := range t.Columns {
			if col.Index < len(rec) && strings.TrimSpace(rec[col.Index]) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		if len(t.Rows) == MaxRows {
			t.fileError(fmt.Sprintf("the sheet has more than %d data rows", MaxRows))
			return
		}
		row := Row{Line: i + 1, raw: map[Field]string{}}
		for _, col := range t.Columns {
			v := ""
			if col.Index < len(rec) {
				v = rec[col.Index]
			}
			if t.Format == "csv" {
				v = csvsafe.Undefuse(v)
			}
			row.raw[col.Field] = v
		}
		t.readRow(&row, values)
		if row.Party.Name == "" && row.Requirement != nil && prev != nil {
			// A continuation row: the party is the one above (its name cell
			// left blank, as templates often do below the first row).
			row.Party.Name, row.Continued = prev.Party.Name, true
		}
		if row.Party.Name == "" {
			t.errorAt(&row, FieldName, "the party's name is required")
		}
		t.Rows = append(t.Rows, row)
		prev = &t.Rows[len(t.Rows)-1]
	}
}

// readRow reads the row's raw cells into values, reporting each bad cell.
func (t *Table) readRow(row *Row, values map[Field]map[string]string) {
	text := func(f Field) string { return strings.TrimSpace(row.raw[f]) }
	body := func(f Field) string { return row.raw[f] }
	enum := func(f Field) string {
		s := text(f)
		if s == "" {
			return ""
		}
		v, err := parseEnum(f, s, values[f])
		t.check(row, f, err)
		return v
	}
	level := func(f Field) int {
		s := text(f)
		if s == "" {
			return 0
		}
		n, err := parseLevel(s, values[f])
		t.check(row, f, err)
		return n
	}
	date := func(f Field) string {
		s := text(f)
		if s == "" {
			return ""
		}
		d, err := parseDate(s, t.Format == "xlsx")
		t.check(row, f, err)
		return d
	}
	row.Party = PartyValues{Name: text(FieldName), Category: enum(FieldCategory), Scope: enum(FieldScope),
		Owner: text(FieldPartyOwner), Description: body(FieldPartyDescription),
		Influence: level(FieldInfluence), Interest: level(FieldInterest)}
	row.Trigger = enum(FieldTrigger)
	row.EffectiveOn = date(FieldEffectiveOn)
	if title := text(FieldTitle); title != "" {
		q := &RequirementValues{Title: title, Kind: enum(FieldKind), Description: body(FieldDescription),
			SourceType: enum(FieldSourceType), SourceRef: text(FieldSourceRef), Owner: text(FieldOwner),
			Priority: enum(FieldPriority), ReviewDue: date(FieldReviewDue),
			Rationale: body(FieldRationale), Treatment: body(FieldTreatment), Controls: parseControls(text(FieldControls))}
		if s := text(FieldAddressed); s != "" {
			b, err := parseBool(s, values[FieldAddressed])
			t.check(row, FieldAddressed, err)
			q.Addressed = b
		}
		row.Requirement = q
	} else {
		for _, f := range []Field{FieldKind, FieldDescription, FieldSourceType, FieldSourceRef, FieldOwner,
			FieldPriority, FieldReviewDue, FieldAddressed, FieldRationale, FieldTreatment, FieldControls} {
			if text(f) != "" {
				t.errorAt(row, f, "a requirement's "+fieldLabel(f)+" is given but its title is blank")
				break
			}
		}
	}
}

func (t *Table) check(row *Row, f Field, err error) {
	var ve *valueError
	if errors.As(err, &ve) {
		t.errorAt(row, f, ve.msg)
	}
}

// errorAt records an error at the row's cell of field f.
func (t *Table) errorAt(row *Row, f Field, msg string) {
	if row.bad == nil {
		row.bad = map[Field]bool{}
	}
	row.bad[f] = true
	t.Errors = append(t.Errors, t.issueAt(row.Line, f, row.raw[f], msg))
}

// issueAt locates a message at the cell of field f in the given row.
func (t *Table) issueAt(line int, f Field, value, msg string) Issue {
	is := Issue{Sheet: t.Sheet, Row: line, Field: string(f), Value: value, Message: msg}
	if col, ok := t.columnOf[f]; ok {
		is.Column = col.Header
		is.Cell, _ = excelize.CoordinatesToCellName(col.Index+1, line)
	}
	return is
}

func fieldLabel(f Field) string { return strings.ReplaceAll(string(f), "_", " ") }
