package report

import (
	"context"
	"fmt"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// ReviewRecordReads lists the corrections and voids of management reviews
// recorded in a window (implemented by *projections.ReadModel). Without it
// the report lists none.
type ReviewRecordReads interface {
	ReviewRecordChanges(ctx context.Context, after, until int64) ([]projections.ReviewRecordChange, error)
}

// ReviewRecord is a correction or a void of a management review's record
// made in the window. The report of a closed window shows the reviews as
// they stood at its end; a correction made later is listed here, in the
// report of the window that contains it.
type ReviewRecord struct {
	projections.ReviewRecordChange
	What   string // "corrected" or "voided"
	Detail string // the changed fields, e.g. `title: "Q1" → "Q1 review"`
}

// reviewRecords reads the corrections and voids of review records made in
// the window w (its end already fixed by closeWindow).
func (b *Builder) reviewRecords(ctx context.Context, rep *Report, w projections.Window) error {
	rr, ok := b.Reads.(ReviewRecordReads)
	if !ok || w.Until < 0 {
		return nil
	}
	until := w.Until
	if until == 0 {
		until = rep.Integrity.HeadPosition
	}
	cs, err := rr.ReviewRecordChanges(ctx, w.After, until)
	if err != nil {
		return fmt.Errorf("report: review record changes: %w", err)
	}
	for _, c := range cs {
		if (!w.FromTime.IsZero() && c.Time.Before(w.FromTime)) || (!w.UntilTime.IsZero() && c.Time.After(w.UntilTime)) {
			continue
		}
		what := "corrected"
		if c.Type == domain.EventManagementReviewVoided {
			what = "voided"
		}
		rep.ReviewRecords = append(rep.ReviewRecords, ReviewRecord{ReviewRecordChange: c, What: what, Detail: recordDetail(c)})
	}
	return nil
}

// recordDetail describes the changed fields of a review record.
func recordDetail(c projections.ReviewRecordChange) string {
	var parts []string
	for _, f := range c.Changes.Fields(domain.ReviewFields) {
		ch := c.Changes[f]
		parts = append(parts, fmt.Sprintf("%s: %s → %s", strings.ReplaceAll(f, "_", " "), recordValue(ch.From), recordValue(ch.To)))
	}
	return strings.Join(parts, "; ")
}

// recordValue shows one value of a review record's field.
func recordValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		return fmt.Sprintf("%q", v)
	case float64:
		return fmt.Sprintf("position %d", int64(v))
	case []any:
		if len(v) == 0 {
			return "none"
		}
		var l []string
		for _, s := range v {
			l = append(l, recordValue(s))
		}
		return strings.Join(l, ", ")
	}
	return fmt.Sprint(v)
}

// reviewRecordsTitle heads the list of review records corrected in the window.
const reviewRecordsTitle = "Management review records corrected in this window"

func (m *mdWriter) reviewRecords(r *Report) {
	if len(r.ReviewRecords) == 0 {
		return
	}
	m.printf("## %s\n\n", reviewRecordsTitle)
	m.row("review", "held on", "event", "what changed", "by", "reason", "position")
	m.row("---", "---", "---", "---", "---", "---", "---:")
	for _, c := range r.ReviewRecords {
		m.row(mdEsc(c.Title), c.HeldOn, c.What, mdEsc(orDash(c.Detail)), mdEsc(c.Actor), mdEsc(orDash(c.Reason)), fmt.Sprint(c.Position))
	}
	m.printf("\n")
}

func (p *pdfWriter) reviewRecords() {
	if len(p.r.ReviewRecords) == 0 {
		return
	}
	p.heading(2, reviewRecordsTitle)
	var rows [][]string
	for _, c := range p.r.ReviewRecords {
		rows = append(rows, []string{c.Title, c.HeldOn, c.What, orDash(c.Detail), c.Actor, orDash(c.Reason), fmt.Sprint(c.Position)})
	}
	p.table([]col{{"review", 0.16, "L"}, {"held on", 0.1, "L"}, {"event", 0.09, "L"}, {"what changed", 0.33, "L"},
		{"by", 0.1, "L"}, {"reason", 0.14, "L"}, {"position", 0.08, "R"}}, rows)
}
