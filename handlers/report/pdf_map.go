package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/partyledger/partyledger/handlers/diagrams"
)

// relationshipMap paints the relationship map on a page of its own: the
// shared renderer lays it out ([diagrams.Map.Drawing], the layout the SVG
// of the HTML report and the API draws) and this paints that drawing with
// the PDF's own lines, curves and text, scaled to fit the page.
func (p *pdfWriter) relationshipMap() {
	r := p.r
	if !r.MapDrawn {
		return
	}
	d := r.Map.Drawing()
	p.pdf.AddPage()
	p.heading(2, "Relationship map")
	p.meta("The relationships between the parties of the register as of position " + strconv.FormatInt(r.AsOf, 10) +
		"; those established or revised in this window are drawn thick, those ended dashed.")
	p.flush(20)
	pdf := p.pdf
	top := pdf.GetY() + 1
	scale := math.Min(p.contentW/d.Width, (p.breakAt-top-2)/d.Height) // mm per pixel
	x0 := pdfMargin + (p.contentW-d.Width*scale)/2
	pt := func(x, y float64) (float64, float64) { return x0 + x*scale, top + y*scale }
	fontPt := func(px float64) float64 { return px * scale / 0.3528 } // 1 pt = 0.3528 mm
	text := func(c diagrams.Caption, px float64) {
		style := ""
		if c.Bold {
			style = "B"
		}
		pdf.SetFont(pdfFont, style, fontPt(px))
		s := pdfText(c.Text)
		x, y := pt(c.X, c.Y)
		if c.Centre {
			w := pdf.GetStringWidth(s)
			x -= w / 2
			pdf.SetFillColor(255, 255, 255) // the halo that keeps a label readable over lines
			pdf.Rect(x-0.4, y-px*scale*0.8, w+0.8, px*scale, "F")
		}
		setColour(pdf.SetTextColor, c.Colour)
		pdf.Text(x, y, s)
	}

	text(diagrams.Caption{X: 24, Y: 40, Text: d.Title, Colour: "#1f2328", Bold: true}, 20)
	text(diagrams.Caption{X: 24, Y: 60, Text: d.Summary, Colour: "#57606a"}, 12)
	for _, s := range d.Sections {
		text(s, 13)
	}
	pdf.SetLineWidth(0.2)
	for _, b := range d.Boxes {
		fill, stroke := "#f6f8fa", "#d0d7de"
		if b.Internal {
			fill, stroke = "#eef4fb", "#b6cbe3"
		}
		setColour(pdf.SetFillColor, fill)
		setColour(pdf.SetDrawColor, stroke)
		x, y := pt(b.X, b.Y)
		pdf.RoundedRect(x, y, b.W*scale, b.H*scale, 8*scale, "1234", "FD")
		text(diagrams.Caption{X: b.X + 10, Y: b.Y + 18, Text: b.Title, Colour: "#424a53", Bold: true}, 11.5)
	}
	for _, ln := range d.Lines {
		p.mapLine(ln, pt, scale)
	}
	pdf.SetDashPattern(nil, 0)
	for _, n := range d.Nodes {
		stroke := "#8c959f"
		if n.Internal {
			stroke = "#4a7ab5"
		}
		pdf.SetLineWidth(0.2)
		pdf.SetFillColor(255, 255, 255)
		setColour(pdf.SetDrawColor, stroke)
		x, y := pt(n.X, n.Y)
		pdf.RoundedRect(x, y, n.W*scale, n.H*scale, 5*scale, "1234", "FD")
		for i, l := range n.Lines {
			text(diagrams.Caption{X: n.TextX, Y: n.TextY + float64(i)*diagrams.MapLineHeight, Text: l, Colour: "#1f2328"},
				diagrams.MapFontSize)
		}
	}
	for _, l := range d.Labels {
		text(l, diagrams.LabelFontSize)
	}
	if len(d.Legend) > 0 {
		text(diagrams.Caption{X: 24, Y: d.LegendY + 4, Text: "Legend", Colour: "#57606a", Bold: true}, 11)
	}
	for _, e := range d.Legend {
		y := d.LegendY + float64(e.Row)*diagrams.LegendRow
		p.mapLine(diagrams.Line{Points: []diagrams.Point{{X: e.X, Y: y}, {X: e.X + 11, Y: y}, {X: e.X + 23, Y: y}, {X: e.X + 34, Y: y}},
			Colour: e.Colour, Width: e.Width, Dash: e.Dash, Arrow: true}, pt, scale)
		pdf.SetDashPattern(nil, 0)
		text(diagrams.Caption{X: e.X + 42, Y: y + 4, Text: e.Text, Colour: "#424a53"}, 11)
	}
	pdf.SetTextColor(0, 0, 0)
	pdf.SetDrawColor(0, 0, 0)
	pdf.SetLineWidth(0.2)
	pdf.SetY(top + d.Height*scale + 2)
	pdf.SetFont(pdfFont, "", pdfBodySize)
}

// mapLine paints one line of the map: a curve or an elbow, dashed as the
// drawing says, with an arrowhead at its end.
func (p *pdfWriter) mapLine(ln diagrams.Line, pt func(x, y float64) (float64, float64), scale float64) {
	pdf := p.pdf
	setColour(pdf.SetDrawColor, ln.Colour)
	setColour(pdf.SetFillColor, ln.Colour)
	pdf.SetLineWidth(ln.Width * scale)
	var dash []float64
	for _, f := range strings.Fields(ln.Dash) {
		if v, err := strconv.ParseFloat(f, 64); err == nil {
			dash = append(dash, v*scale)
		}
	}
	pdf.SetDashPattern(dash, 0)
	ps := make([]fpdf.PointType, len(ln.Points))
	for i, q := range ln.Points {
		ps[i].X, ps[i].Y = pt(q.X, q.Y)
	}
	if ln.Elbow {
		pdf.Line(ps[0].X, ps[0].Y, ps[1].X, ps[1].Y)
		pdf.Line(ps[1].X, ps[1].Y, ps[2].X, ps[2].Y)
		return
	}
	pdf.CurveBezierCubic(ps[0].X, ps[0].Y, ps[1].X, ps[1].Y, ps[2].X, ps[2].Y, ps[3].X, ps[3].Y, "D")
	if !ln.Arrow {
		return
	}
	// The arrowhead points along the curve's last tangent (from the last
	// control point, or the start when they coincide).
	end, from := ps[3], ps[2]
	if math.Hypot(end.X-from.X, end.Y-from.Y) < 1e-6 {
		from = ps[0]
	}
	a := math.Atan2(end.Y-from.Y, end.X-from.X)
	size := 9 * scale
	pdf.SetDashPattern(nil, 0)
	pdf.Polygon([]fpdf.PointType{end,
		{X: end.X - size*math.Cos(a-0.45), Y: end.Y - size*math.Sin(a-0.45)},
		{X: end.X - size*math.Cos(a+0.45), Y: end.Y - size*math.Sin(a+0.45)}}, "F")
}

// setColour calls set with the red, green and blue of a #rrggbb colour.
func setColour(set func(r, g, b int), hex string) {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil || len(hex) != 7 {
		set(0, 0, 0)
		return
	}
	set(int(v>>16&0xff), int(v>>8&0xff), int(v&0xff))
}
