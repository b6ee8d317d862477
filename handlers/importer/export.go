package importer

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/domain"
)

// ExportSheet is the name of the register sheet [WriteXLSX] writes.
const ExportSheet = "Register"

// exportColumns are the headers [WriteXLSX] writes, each one [Read]
// recognises for its field.
var exportColumns = []struct {
	Header string
	Field  Field
}{
	{"Interested party", FieldName}, {"Internal/External", FieldScope}, {"Category", FieldCategory},
	{"Party owner", FieldPartyOwner}, {"Party description", FieldPartyDescription},
	{"Influence (1-5)", FieldInfluence}, {"Interest (1-5)", FieldInterest},
	{"Requirement/Expectation", FieldKind}, {"Needs & expectations", FieldTitle}, {"Description", FieldDescription},
	{"Source type", FieldSourceType}, {"Source reference", FieldSourceRef}, {"Owner", FieldOwner},
	{"Priority", FieldPriority}, {"Next review", FieldReviewDue}, {"Addressed by ISMS?", FieldAddressed},
	{"Rationale", FieldRationale}, {"How addressed", FieldTreatment}, {"Annex A controls", FieldControls},
}

// WriteXLSX writes the active parties and their active requirements as an
// XLSX workbook in the columns [Read] reads: one row per requirement with
// the party's columns repeated, one row for a party without requirements.
// Review dates are real date cells; the header is frozen and filterable and
// the sheet's <dimension> is its true used range. Every text is a string
// cell, never a formula, so values beginning with = + - @ need no prefix
// and read back unchanged.
func WriteXLSX(w io.Writer, parties []*domain.Party, generated time.Time) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", ExportSheet); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	dateFmt := "yyyy-mm-dd"
	dateStyle, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return err
	}
	head := make([]any, len(exportColumns))
	dateCol := 0
	for i, c := range exportColumns {
		head[i] = c.Header
		if c.Field == FieldReviewDue {
			dateCol = i + 1
		}
	}
	if err := f.SetSheetRow(ExportSheet, "A1", &head); err != nil {
		return err
	}
	last, _ := excelize.CoordinatesToCellName(len(exportColumns), 1)
	if err := f.SetCellStyle(ExportSheet, "A1", last, bold); err != nil {
		return err
	}
	n := 1
	write := func(row []any) error {
		n++
		ref, _ := excelize.CoordinatesToCellName(1, n)
		if err := f.SetSheetRow(ExportSheet, ref, &row); err != nil {
			return fmt.Errorf("row %d: %w", n, err)
		}
		if _, ok := row[dateCol-1].(time.Time); ok {
			ref, _ := excelize.CoordinatesToCellName(dateCol, n)
			return f.SetCellStyle(ExportSheet, ref, ref, dateStyle)
		}
		return nil
	}
	for _, p := range parties {
		if p == nil || p.Status != domain.StatusActive {
			continue
		}
		party := []any{p.Name, p.Scope, p.Category, p.Owner, p.Description, p.Influence, p.Interest}
		rows := 0
		for _, id := range p.Order {
			q := p.Requirements[id]
			if q == nil || q.Status != domain.StatusActive {
				continue
			}
			rows++
			var due any = ""
			if q.ReviewDue != nil {
				if d, err := time.Parse(domain.DateLayout, *q.ReviewDue); err == nil {
					due = d
				} else {
					due = *q.ReviewDue
				}
			}
			addressed := ""
			if q.Addressed != nil {
				addressed = map[bool]string{true: "Yes", false: "No"}[*q.Addressed]
			}
			row := append(append([]any{}, party...), q.Kind, q.Title, q.Description, q.SourceType, q.SourceRef,
				q.Owner, q.Priority, due, addressed, q.Rationale, q.Treatment, strings.Join(q.Controls, ", "))
			if err := write(row); err != nil {
				return err
			}
		}
		if rows == 0 {
			row := append(append([]any{}, party...), make([]any, len(exportColumns)-len(party))...)
			for i := range row {
				if row[i] == nil {
					row[i] = ""
				}
			}
			if err := write(row); err != nil {
				return err
			}
		}
	}
	end, _ := excelize.CoordinatesToCellName(len(exportColumns), n)
	if err := f.AutoFilter(ExportSheet, "A1:"+end, nil); err != nil {
		return err
	}
	if err := f.SetPanes(ExportSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	if err := f.SetSheetDimension(ExportSheet, "A1:"+end); err != nil {
		return err
	}
	widths := map[Field]float64{FieldName: 30, FieldTitle: 40, FieldDescription: 40, FieldPartyDescription: 30,
		FieldRationale: 30, FieldTreatment: 30}
	for i, c := range exportColumns {
		wd, ok := widths[c.Field]
		if !ok {
			wd = 16
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		if err := f.SetColWidth(ExportSheet, col, col, wd); err != nil {
			return err
		}
	}
	stamp := generated.UTC().Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{Title: "Register of interested parties",
		Subject: "ISO/IEC 27001:2022 clause 4.2", Creator: "partyledger", Created: stamp, Modified: stamp}); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}
