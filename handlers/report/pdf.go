package report

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/go-pdf/fpdf"
)

// The DejaVu Sans Condensed fonts cover Latin, Greek and Cyrillic scripts,
// so names such as "Société Générale" or "Bundesamt für Sicherheit" render
// as written. They are embedded so that no font needs to be installed (see
// fonts/LICENSE); the PDF embeds only the glyphs it uses.
var (
	//go:embed fonts/DejaVuSansCondensed.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSansCondensed-Bold.ttf
	fontBold []byte
)

const (
	pdfFont      = "DejaVu"
	pdfMargin    = 15.0 // mm, left, right and top
	pdfBottom    = 16.0 // mm below the last line of text
	pdfLine      = 3.8  // mm per line of table text
	pdfCellPad   = 0.9  // mm above and below the text of a cell
	pdfTableSize = 7.8  // pt
	pdfBodySize  = 9.5  // pt
)

// WritePDF writes the report as an A4 PDF: the same sections as the HTML
// report, with tables that continue over pages under a repeated header row,
// an outline (bookmarks) of the sections and parties, and a footer with the
// page number and the log head on every page.
func WritePDF(w io.Writer, r *Report) error {
	p := newPDFWriter(r)
	p.header()
	p.executive()
	if r.NoChanges() {
		p.noChanges()
	} else {
		p.summary()
		p.changes()
	}
	p.grid()
	p.relationshipMap()
	p.previous()
	p.reviewRecords()
	p.open()
	p.annex()
	p.signOff()
	p.evidence()
	p.integrity()
	if err := p.pdf.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return p.pdf.Output(w)
}

type pdfWriter struct {
	pdf      *fpdf.Fpdf
	r        *Report
	contentW float64
	breakAt  float64 // y below which nothing may be drawn
	pending  []block // headings waiting for their content
}

func newPDFWriter(r *Report) *pdfWriter {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(pdfFont, "", fontRegular)
	pdf.AddUTF8FontFromBytes(pdfFont, "B", fontBold)
	pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	pdf.SetAutoPageBreak(true, pdfBottom)
	pdf.SetCompression(true)
	pdf.SetCreationDate(r.GeneratedAt)
	pdf.SetModificationDate(r.GeneratedAt)
	pdf.SetTitle(r.Title+" · "+r.Organisation, true)
	pdf.SetAuthor(r.Organisation, true)
	pdf.SetSubject("ISO/IEC 27001:2022 clause 9.3.2 c): "+r.WindowText(), true)
	pdf.SetCreator("partyledger", true)
	pdf.SetProducer("partyledger", true)
	pdf.AliasNbPages("{nb}")
	w, h := pdf.GetPageSize()
	p := &pdfWriter{pdf: pdf, r: r, contentW: w - 2*pdfMargin, breakAt: h - pdfBottom}
	pdf.SetHeaderFunc(func() {
		if pdf.PageNo() == 1 {
			return
		}
		pdf.SetFont(pdfFont, "", 7.5)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(p.contentW, 4, pdfText(r.Organisation+" · "+r.Title), "B", 1, "L", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		pdf.Ln(3)
	})
	pdf.SetFooterFunc(func() {
		pdf.SetY(-pdfBottom + 4)
		pdf.SetFont(pdfFont, "", 7.5)
		pdf.SetTextColor(90, 90, 90)
		left := fmt.Sprintf("Generated %s by %s · log head position %d", When(r.GeneratedAt), orDash(r.GeneratedBy), r.Integrity.HeadPosition)
		pdf.CellFormat(p.contentW*0.8, 4, pdfText(left), "T", 0, "L", false, 0, "")
		pdf.CellFormat(p.contentW*0.2, 4, fmt.Sprintf("page %d of {nb}", pdf.PageNo()), "T", 0, "R", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	return p
}

// pdfText makes text safe for the PDF fonts: characters outside the Basic
// Multilingual Plane (which the font tables do not index) become "?",
// control characters other than line breaks become spaces.
func pdfText(s string) string {
	clean := true
	for _, c := range s {
		if c > 0xFFFF || c == '\r' || (unicode.IsControl(c) && c != '\n') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(c rune) rune {
		switch {
		case c == '\r':
			return -1
		case c > 0xFFFF:
			return '?'
		case unicode.IsControl(c) && c != '\n':
			return ' '
		}
		return c
	}, strings.ToValidUTF8(s, "?"))
}

// space ensures that at least h mm are left on the page, or starts a new
// one.
func (p *pdfWriter) space(h float64) {
	if p.pdf.GetY()+h > p.breakAt {
		p.pdf.AddPage()
	}
}

// heading queues a heading of level 1 to 5; it is drawn with the content
// that follows it (see flush), so that it never ends a page alone.
func (p *pdfWriter) heading(level int, text string) {
	p.pending = append(p.pending, block{level: level, text: text})
}

// meta queues a line of small grey text that belongs to the heading above.
func (p *pdfWriter) meta(text string) {
	p.pending = append(p.pending, block{level: 0, text: text})
}

// block is a queued heading (level 1 to 5) or meta line (level 0).
type block struct {
	level int
	text  string
}

var (
	headingSize   = [6]float64{8, 16, 13, 11.5, 10.5, 9.5} // pt; [0] is meta
	headingBefore = [6]float64{0, 0, 5, 3.5, 3, 2}         // mm above
)

func (p *pdfWriter) blockFont(level int) (style string, size, lineH float64) {
	if level == 0 {
		return "", headingSize[0], 3.8
	}
	return "B", headingSize[level], headingSize[level] * 0.5
}

// flush draws the queued headings and meta lines, on a new page unless they
// fit on this one together with next mm of the content that follows.
func (p *pdfWriter) flush(next float64) {
	if len(p.pending) == 0 {
		p.space(next)
		return
	}
	pdf := p.pdf
	need := next
	for _, b := range p.pending {
		style, size, lineH := p.blockFont(b.level)
		pdf.SetFont(pdfFont, style, size)
		need += headingBefore[b.level] + float64(len(pdf.SplitText(pdfText(b.text), p.contentW)))*lineH + 1.2
	}
	p.space(need)
	for _, b := range p.pending {
		style, size, lineH := p.blockFont(b.level)
		if b.level > 0 && pdf.GetY() > pdfMargin+12 {
			pdf.Ln(headingBefore[b.level])
		}
		if b.level >= 1 && b.level <= 4 {
			pdf.Bookmark(pdfText(b.text), b.level-1, -1)
		}
		pdf.SetFont(pdfFont, style, size)
		border := ""
		if b.level == 2 {
			border = "B"
		}
		if b.level == 0 {
			pdf.SetTextColor(70, 70, 70)
		}
		pdf.MultiCell(p.contentW, lineH, pdfText(b.text), border, "L", false)
		pdf.SetTextColor(0, 0, 0)
		pdf.Ln(1.2)
	}
	p.pending = p.pending[:0]
	pdf.SetFont(pdfFont, "", pdfBodySize)
}

func (p *pdfWriter) para(text string) {
	p.flush(10)
	p.pdf.SetFont(pdfFont, "", pdfBodySize)
	p.pdf.MultiCell(p.contentW, 4.6, pdfText(text), "", "L", false)
	p.pdf.Ln(1.5)
}

// col is one column of a table: its header, its share of the width (a
// table stretches the shares of its columns to the full width) and its
// alignment.
type col struct {
	title string
	share float64
	align string // L or R
}

// table draws rows under a header row. A row that does not fit on the page
// moves to the next one, under a repeated header; a row taller than a whole
// page is split between pages line by line.
func (p *pdfWriter) table(cols []col, rows [][]string) {
	pdf := p.pdf
	total := 0.0
	for _, c := range cols {
		total += c.share
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = c.share / total * p.contentW
	}
	head := make([]string, len(cols))
	for i, c := range cols {
		head[i] = c.title
	}
	hasHeader := false
	for _, c := range cols {
		hasHeader = hasHeader || c.title != ""
	}
	drawHeader := func() {
		if !hasHeader {
			return
		}
		pdf.SetFont(pdfFont, "B", pdfTableSize)
		pdf.SetFillColor(232, 232, 232)
		p.row(cols, widths, p.split(head, widths), 0, -1, true)
		pdf.SetFont(pdfFont, "", pdfTableSize)
	}
	pdf.SetFont(pdfFont, "", pdfTableSize)
	// The headings above, the header and the first rows stay together.
	p.flush(3*(pdfLine+2*pdfCellPad) + 2)
	drawHeader()
	for _, cells := range rows {
		pdf.SetFont(pdfFont, "", pdfTableSize)
		lines := p.split(cells, widths)
		n := 0
		for _, l := range lines {
			n = max(n, len(l))
		}
		n = max(n, 1)
		for from := 0; from < n; {
			avail := int((p.breakAt - pdf.GetY() - 2*pdfCellPad) / pdfLine)
			rest := n - from
			if avail < rest && (avail < 3 || rest <= p.linesPerPage()) {
				// Move the row (or its rest) to a new page, unless it is
				// taller than a page anyway and some lines fit here.
				pdf.AddPage()
				drawHeader()
				continue
			}
			to := min(n, from+avail)
			p.row(cols, widths, lines, from, to, false)
			from = to
		}
	}
	pdf.Ln(2.5)
	pdf.SetFont(pdfFont, "", pdfBodySize)
}

// linesPerPage is how many table lines fit on an empty page under a header.
func (p *pdfWriter) linesPerPage() int {
	top := pdfMargin + 8 + pdfLine + 2*pdfCellPad // running header, table header
	return int((p.breakAt - top - 2*pdfCellPad) / pdfLine)
}

// split wraps each cell into lines of its column's width.
func (p *pdfWriter) split(cells []string, widths []float64) [][]string {
	out := make([][]string, len(cells))
	for i, c := range cells {
		c = pdfText(c)
		if c == "" {
			out[i] = nil
			continue
		}
		out[i] = p.pdf.SplitText(c, widths[i])
	}
	return out
}

// row draws lines [from, to) of every cell (to < 0: all) as one row of
// bordered cells.
func (p *pdfWriter) row(cols []col, widths []float64, lines [][]string, from, to int, fill bool) {
	pdf := p.pdf
	n := 0
	for _, l := range lines {
		n = max(n, len(l))
	}
	if to < 0 {
		to = max(n, 1)
	}
	h := float64(to-from)*pdfLine + 2*pdfCellPad
	x0, y0 := pdfMargin, pdf.GetY()
	x := x0
	for i := range cols {
		style := "D"
		if fill {
			style = "FD"
		}
		pdf.Rect(x, y0, widths[i], h, style)
		for j := from; j < to && j < len(lines[i]); j++ {
			pdf.SetXY(x, y0+pdfCellPad+float64(j-from)*pdfLine)
			pdf.CellFormat(widths[i], pdfLine, lines[i][j], "", 0, cols[i].align, false, 0, "")
		}
		x += widths[i]
	}
	pdf.SetXY(x0, y0+h)
}

func (p *pdfWriter) header() {
	r := p.r
	p.heading(1, r.Title)
	p.heading(5, r.Organisation)
	p.meta("ISO/IEC 27001:2022 clause 9.3.2 c) · input to the management review")
	p.table([]col{{"", 0.22, "L"}, {"", 0.78, "L"}}, [][]string{
		{"From (exclusive)", BoundText(r.Since)},
		{"To (inclusive)", BoundText(r.Until)},
		{"Net changes in the window", fmt.Sprint(r.NetChanges)},
		{"Events in the window", fmt.Sprint(r.Events)},
		{"Generated", When(r.GeneratedAt) + " by " + orDash(r.GeneratedBy)},
	})
}

func (p *pdfWriter) noChanges() {
	p.flush(12)
	p.pdf.Ln(2)
	p.pdf.SetFont(pdfFont, "B", 11)
	p.pdf.MultiCell(p.contentW, 6, "No changes. No interested party, requirement or expectation was added, revised, retired or re-decided in this window.", "1", "L", false)
	p.pdf.Ln(3)
	p.pdf.SetFont(pdfFont, "", pdfBodySize)
}

func (p *pdfWriter) summary() {
	r, s := p.r, p.r.Summary
	p.heading(2, "Summary")
	p.table([]col{{"", 0.4, "L"}, {"added", 0.15, "R"}, {"revised", 0.15, "R"}, {"retired", 0.15, "R"}, {"reviewed", 0.15, "R"}},
		countRows(s))
	p.table([]col{{"also in the window", 0.8, "L"}, {"", 0.2, "R"}}, [][]string{
		{"objectives and KPIs changed (clause 6.2)", fmt.Sprint(s.Objectives)},
		{"communications planned or sent (clause 7.4)", fmt.Sprint(s.Communications)}})
	p.heading(3, "Addressing decisions (clause 4.2 c)")
	var rows [][]string
	for _, row := range s.Addressing.Rows() {
		rows = append(rows, []string{row.Label, fmt.Sprint(row.N)})
	}
	rows = append(rows, []string{"total", fmt.Sprint(s.Addressing.Total())})
	p.table([]col{{"decision", 0.8, "L"}, {"events", 0.2, "R"}}, rows)
	p.heading(3, "Changes by trigger")
	rows = rows[:0]
	for _, t := range s.ByTrigger {
		rows = append(rows, []string{t.Label(), fmt.Sprint(t.Events)})
	}
	rows = append(rows, []string{"total", fmt.Sprint(r.NetChanges)})
	p.table([]col{{"trigger", 0.8, "L"}, {"net changes", 0.2, "R"}}, rows)
}

var (
	fieldCols = []col{{"field", 0.24, "L"}, {"from", 0.38, "L"}, {"to", 0.38, "L"}}
	eventCols = []col{{"when", 0.19, "L"}, {"what happened", 0.81, "L"}}
)

func (p *pdfWriter) changes() {
	r := p.r
	p.heading(2, "Changes by party")
	for _, g := range []struct {
		internal bool
		parties  []PartyChanges
	}{{true, r.Internal}, {false, r.External}} {
		p.heading(3, scopeTitle(g.internal))
		if len(g.parties) == 0 {
			p.para("No changes.")
			continue
		}
		for _, pc := range g.parties {
			p.heading(4, pc.Party.Name)
			p.meta(Label(pc.Party.Category) + " · " + Label(pc.Party.Scope))
			for _, it := range pc.Items {
				p.item(it)
			}
		}
	}
	if len(r.Objectives) > 0 {
		p.heading(3, "Objectives and KPIs (clause 6.2)")
		for _, it := range r.Objectives {
			p.item(it)
		}
	}
	p.heading(2, "Relationships changed")
	if len(r.Relationships) == 0 {
		p.para("No relationship between parties was established, revised or ended in this window.")
	}
	for _, it := range r.Relationships {
		p.item(it)
	}
}

// item draws one net change: a heading, its field changes and its events.
func (p *pdfWriter) item(it Item) {
	r := p.r
	title := ChangeLabel(it)
	if s := it.Subject(); s != "" {
		title += ": " + s
	}
	p.heading(5, title)
	rows := make([][]string, 0, len(it.Fields))
	for _, fc := range it.Fields {
		rows = append(rows, []string{FieldLabel(fc.Field), r.Value(fc.Field, fc.From), r.Value(fc.Field, fc.To)})
	}
	p.table(fieldCols, rows)
	if s := r.NetSentence(it); s != "" {
		p.para(s)
	}
	rows = rows[:0]
	for _, ci := range it.Details {
		rows = append(rows, []string{When(ci.Time), r.EventSentence(ci)})
	}
	p.table(eventCols, rows)
	if it.Ref != "" {
		p.meta("Evidence " + it.Ref + ".")
	}
}

var openCols = []col{{"party", 0.19, "L"}, {"kind", 0.1, "L"}, {"title", 0.28, "L"}, {"owner", 0.13, "L"},
	{"priority", 0.08, "L"}, {"addressed", 0.11, "L"}, {"review due", 0.11, "L"}}

func (p *pdfWriter) open() {
	r := p.r
	p.heading(2, "Requirements not yet decided (clause 4.2 c)")
	p.openTable(r.Undecided, "None: every active requirement and expectation has a decision.")
	p.heading(2, "Requirements past their review date (before "+r.Today()+")")
	p.openTable(r.PastDue, "None.")
	if lines := r.FailedReminderLines(); len(lines) > 0 {
		p.heading(2, FailedRemindersHeading)
		for _, l := range lines {
			p.para(l)
		}
	}
	p.heading(2, "Retired parties with open requirements")
	if len(r.Retired) == 0 {
		p.para("None.")
	}
	for _, rp := range r.Retired {
		p.heading(3, rp.Party.Name)
		p.meta(Label(rp.Party.Category) + " · " + Label(rp.Party.Scope) + " · retired " + When(rp.RetiredAt))
		var rows [][]string
		for _, q := range rp.Requirements {
			rows = append(rows, []string{Label(q.Kind), q.Title, orDash(q.Owner), Label(q.Priority),
				r.Value("addressed", boolAny(q.Addressed)), dateOrDash(q.ReviewDue)})
		}
		p.table(openCols[1:], rows)
	}
}

func (p *pdfWriter) openTable(rs []OpenRequirement, none string) {
	if len(rs) == 0 {
		p.para(none)
		return
	}
	rows := make([][]string, 0, len(rs))
	for _, o := range rs {
		q := o.Requirement
		rows = append(rows, []string{o.Party.Name, Label(q.Kind), o.TitleWithReminders(), orDash(q.Owner), Label(q.Priority),
			p.r.Value("addressed", boolAny(q.Addressed)), dateOrDash(q.ReviewDue)})
	}
	p.table(openCols, rows)
}

func (p *pdfWriter) integrity() {
	in := p.r.Integrity
	p.heading(2, "Integrity")
	p.para(fmt.Sprintf("%s: position %d, hash %s.", in.Label(), in.HeadPosition, orDash(in.HeadHash)))
	if in.Checkpoint == "" {
		p.para("Signed checkpoint: none available.")
	} else {
		p.para("Latest signed checkpoint:")
		p.flush(10)
		p.pdf.SetFont(pdfFont, "", 7.5)
		p.pdf.MultiCell(p.contentW, 3.5, pdfText(in.Checkpoint), "1", "L", false)
		p.pdf.Ln(2)
	}
	p.para("The evidence appendix names the ids and log positions behind every line; the events and the hash chain can be checked in the audit trail.")
}

func (p *pdfWriter) executive() {
	p.heading(2, "Executive summary")
	for _, s := range p.r.Executive {
		p.para("• " + s)
	}
}

// grid draws the power–interest grid: four quadrants and one labelled dot
// per party of the annex.
func (p *pdfWriter) grid() {
	p.heading(2, "Power–interest grid")
	const side = 110.0
	p.flush(side + 12)
	pdf := p.pdf
	x0, y0 := pdfMargin+10, pdf.GetY()+2
	half := side / 2
	for _, q := range []struct {
		x, y  float64
		label string
	}{{0, 0, "keep satisfied"}, {half, 0, "manage closely"}, {0, half, "monitor"}, {half, half, "keep informed"}} {
		pdf.Rect(x0+q.x, y0+q.y, half, half, "D")
		pdf.SetFont(pdfFont, "", 7)
		pdf.SetTextColor(110, 110, 110)
		pdf.Text(x0+q.x+1.5, y0+q.y+4, q.label)
	}
	pdf.SetTextColor(0, 0, 0)
	pdf.Text(x0+half-8, y0+side+5, "interest →")
	pdf.TransformBegin()
	pdf.TransformRotate(90, x0-3, y0+half+8)
	pdf.Text(x0-3, y0+half+8, "influence →")
	pdf.TransformEnd()
	cell := side / 5
	seen := map[[2]int]int{}
	pdf.SetFont(pdfFont, "", 6)
	for _, pv := range sortedByName(p.r.Annex) {
		in, it := clampLevel(pv.Influence), clampLevel(pv.Interest)
		k := [2]int{in, it}
		n := seen[k]
		seen[k]++
		x := x0 + float64(it-1)*cell + 2
		y := y0 + float64(5-in)*cell + 7 + float64(n%5)*2.6
		pdf.Circle(x, y-0.8, 0.7, "F")
		pdf.Text(x+1.5, y, pdfText(shorten(pv.Name, 16)))
	}
	pdf.SetY(y0 + side + 8)
	pdf.SetFont(pdfFont, "", pdfBodySize)
}

func (p *pdfWriter) previous() {
	p.heading(2, "Decisions and actions of the previous review")
	pr := p.r.Previous
	if pr == nil {
		p.para("The window does not start at a management review.")
		return
	}
	p.para(pr.Review.Title + " (held on " + pr.Review.HeldOn + ")")
	if len(pr.Review.Decisions) == 0 {
		p.para("Decisions: none recorded.")
	}
	for _, d := range pr.Review.Decisions {
		p.para("• " + d)
	}
	if len(pr.Actions) == 0 {
		p.para("Actions: none recorded.")
		return
	}
	var rows [][]string
	for _, a := range pr.Actions {
		rows = append(rows, []string{a.Title, a.Owner, a.DueOn, actionStatus(a), orDash(a.Evidence)})
	}
	p.table([]col{{"action", 0.34, "L"}, {"owner", 0.14, "L"}, {"due", 0.12, "L"}, {"status", 0.15, "L"}, {"evidence", 0.25, "L"}}, rows)
}

func (p *pdfWriter) annex() {
	p.heading(2, fmt.Sprintf("Annex: the register as of position %d", p.r.AsOf))
	if len(p.r.Annex) == 0 {
		p.para("The register is empty.")
		return
	}
	var rows [][]string
	for _, pv := range p.r.Annex {
		rows = append(rows, []string{pv.Name, Label(pv.Category), Label(pv.Scope), orDash(pv.Owner),
			fmt.Sprint(pv.Influence), fmt.Sprint(pv.Interest), orDash(requirementTitles(pv))})
	}
	p.table([]col{{"party", 0.2, "L"}, {"category", 0.11, "L"}, {"scope", 0.08, "L"}, {"owner", 0.13, "L"},
		{"infl.", 0.06, "R"}, {"int.", 0.06, "R"}, {"requirements and expectations", 0.36, "L"}}, rows)
}

func (p *pdfWriter) signOff() {
	p.heading(2, "Sign-off")
	p.table([]col{{"", 0.25, "L"}, {"", 0.75, "L"}}, [][]string{
		{"Reviewed by", " "}, {"Date", " "}, {"Signature", "\n\n"}})
}

func (p *pdfWriter) evidence() {
	p.heading(2, "Evidence appendix")
	if len(p.r.Evidence) == 0 {
		p.para("No changes, no evidence to list.")
		return
	}
	rows := make([][]string, 0, len(p.r.Evidence))
	for _, e := range p.r.Evidence {
		rows = append(rows, []string{orDash(e.Ref), e.Subject, orDash(e.IDs), orDash(EventList(e.Events))})
	}
	p.table([]col{{"ref", 0.06, "L"}, {"change or party", 0.3, "L"}, {"ids", 0.3, "L"}, {"log positions", 0.34, "L"}}, rows)
}
