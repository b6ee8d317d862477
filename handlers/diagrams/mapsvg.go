package diagrams

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// Geometry of the relationship map, in pixels.
const (
	mapFont     = 12.0
	mapLine     = 15.0
	colW        = 250.0 // a group box
	colGap      = 150.0 // room between columns for edges and their labels
	boxPad      = 10.0
	boxHead     = 28.0
	pillGap     = 6.0
	indent      = 16.0
	boxGap      = 18.0
	margin      = 24.0
	headerH     = 70.0 // title, subtitle, section headings
	legendRow   = 22.0
	labelFont   = 10.5
	maxPillLine = 2
)

// kindColours are the edge colours, after the Okabe–Ito palette, dark
// enough to read on white.
var kindColours = map[string]string{
	"supplies":       "#0072b2",
	"regulates":      "#d55e00",
	"audits":         "#a0508a",
	"represents":     "#009e73",
	"owns":           "#8b6d00",
	"contracts_with": "#3a8fc7",
	"depends_on":     "#c98400",
	"influences":     "#6a4c9c",
	"competes_with":  "#b2182b",
	"other":          "#555555",
}

func kindColour(k string) string {
	if c, ok := kindColours[k]; ok {
		return c
	}
	return kindColours["other"]
}

// changeColours mark relationships on a map drawn since a review.
var changeColours = map[Change]string{Added: "#1a7f37", Changed: "#b35900", Ended: "#b2182b"}

// mapLayout is where everything of the map goes.
type mapLayout struct {
	width, height float64
	pills         []rect     // per party
	lines         [][]string // per party: its name, wrapped
	boxes         []rect     // per group
	sections      []struct {
		title string
		x     float64
	}
	legendY float64
}

// layoutMap places groups in columns: internal groups in the left columns,
// external ones in the right, each group in the currently shortest column
// of its section (masonry), so the picture stays about 16:10.
func layoutMap(md *model) *mapLayout {
	l := &mapLayout{pills: make([]rect, len(md.parties)), lines: make([][]string, len(md.parties))}
	pillW := func(i int) float64 { return colW - 2*boxPad - float64(md.depth[i])*indent }
	heights := make([]float64, len(md.groups))
	var total, internal float64
	for gi, g := range md.groups {
		h := boxHead + boxPad
		for _, i := range g.members {
			l.lines[i] = wrap(md.parties[i].Name, pillW(i)-16, mapFont, maxPillLine)
			h += float64(len(l.lines[i]))*mapLine + 9 + pillGap
		}
		heights[gi] = h
		total += h + boxGap
		if g.scope == "internal" {
			internal += h + boxGap
		}
	}
	// Aim at a picture about twice as wide as tall: a target column
	// height, then as many columns as each section needs to stay under it.
	target := math.Max(math.Sqrt(total*(colW+colGap)/2), 320)
	ci := int(math.Ceil(internal / target))
	ce := int(math.Ceil((total - internal) / target))
	if ci+ce > 8 { // very large maps: at most eight columns
		ci = max(min(ci, 1), int(math.Round(8*internal/total)))
		ce = 8 - ci
		if total == internal {
			ci, ce = 8, 0
		}
	}
	cols := max(1, ci+ce)
	colH := make([]float64, cols)
	top := margin + headerH
	if internal > 0 {
		l.sections = append(l.sections, struct {
			title string
			x     float64
		}{"Internal", margin})
	}
	if internal < total {
		l.sections = append(l.sections, struct {
			title string
			x     float64
		}{"External", margin + float64(ci)*(colW+colGap)})
	}
	l.boxes = make([]rect, len(md.groups))
	for gi, g := range md.groups {
		lo, hi := ci, cols
		if g.scope == "internal" {
			lo, hi = 0, ci
		}
		c := lo
		for k := lo; k < hi; k++ {
			if colH[k] < colH[c] {
				c = k
			}
		}
		x, y := margin+float64(c)*(colW+colGap), top+colH[c]
		l.boxes[gi] = rect{x, y, colW, heights[gi]}
		py := y + boxHead
		for _, i := range g.members {
			d := float64(md.depth[i]) * indent
			h := float64(len(l.lines[i]))*mapLine + 9
			l.pills[i] = rect{x + boxPad + d, py, pillW(i), h}
			py += h + pillGap
		}
		colH[c] += heights[gi] + boxGap
	}
	// The last column keeps its gap: edges within a column curve out to
	// the right.
	l.width = 2*margin + float64(cols)*(colW+colGap) - colGap/3
	l.legendY = top + slices.Max(colH) + 8
	l.height = l.legendY + legendRow*float64(1+len(legendItems(md))/4+1) + margin
	return l
}

// legendEntry is one entry of the map's legend.
type legendEntry struct {
	text, colour, dash string
	width              float64
}

// legendItems lists the kinds used, the parent link if any, and the
// changes shown, in vocabulary order.
func legendItems(md *model) []legendEntry {
	used := map[string]bool{}
	changes := map[Change]bool{}
	for _, e := range md.edges {
		if e.Change == Unchanged { // changed edges wear the change's colour
			used[e.Kind] = true
		}
		changes[e.Change] = true
	}
	var out []legendEntry
	for _, k := range domain.RelationshipKinds {
		if used[k] {
			out = append(out, legendEntry{text: strings.ReplaceAll(k, "_", " "), colour: kindColour(k), width: 1.6})
		}
	}
	if len(md.parents) > 0 {
		out = append(out, legendEntry{text: "part of (sub-party)", colour: "#8a8f98", dash: "4 3", width: 1.2})
	}
	for _, c := range []Change{Added, Changed, Ended} {
		if changes[c] {
			dash := ""
			if c == Ended {
				dash = "6 4"
			}
			out = append(out, legendEntry{text: string(c) + " since " + md.since, colour: changeColours[c], dash: dash, width: 3})
		}
	}
	return out
}

// Drawing is the relationship map laid out, in pixels from the top left:
// every box, party, line, label and legend entry with its place and colour
// (#rrggbb). [Map.SVG] writes it as SVG; the change report paints the same
// drawing on a PDF page with its own primitives, so that both show one
// layout.
type Drawing struct {
	Width, Height  float64
	Title, Summary string
	Desc           string // the accessible description: every relationship as a sentence
	Sections       []Caption
	Boxes          []Box
	Lines          []Line // parent links first, then relationships, in drawing order
	Nodes          []Node // the parties, drawn over the lines
	Labels         []Caption
	LegendY        float64 // the baseline of the legend's first row
	Legend         []LegendEntry
}

// Point is a point of a [Drawing].
type Point struct{ X, Y float64 }

// Caption is a text at a point (X, Y is its baseline; centred when Centre).
type Caption struct {
	X, Y   float64
	Text   string
	Colour string
	Bold   bool
	Centre bool
}

// Box is a group of parties: one scope and category.
type Box struct {
	X, Y, W, H float64
	Title      string
	Internal   bool
}

// Node is one party: a rounded box with its name in Lines (TextX, TextY is
// the baseline of the first line; lines are [MapLineHeight] apart).
type Node struct {
	X, Y, W, H   float64
	TextX, TextY float64
	Lines        []string
	PartyID      string
	Tooltip      string
	Internal     bool
}

// Line is a parent link or a relationship: a cubic Bézier curve through
// Points[0] with control points Points[1], Points[2] to Points[3] when
// Elbow is false; otherwise a vertical then a horizontal segment through
// Points[0], Points[1], Points[2]. Dash is an SVG dash array ("" solid).
type Line struct {
	Points  []Point
	Elbow   bool
	Colour  string
	Width   float64
	Dash    string
	Arrow   bool
	Tooltip string
}

// LegendEntry is one entry of the legend: a short arrow and its text, at
// X on the legend row Row (0 the first).
type LegendEntry struct {
	X      float64
	Row    int
	Text   string
	Colour string
	Dash   string
	Width  float64
}

// Geometry of a [Drawing] that painters need.
const (
	MapFontSize   = mapFont   // the parties' names, px
	MapLineHeight = mapLine   // between the lines of a name, px
	LabelFontSize = labelFont // edge labels, px
	LegendRow     = legendRow // between legend rows, px
)

// Drawing lays the map out (see the package doc for its layout and its
// limits).
func (m Map) Drawing() Drawing {
	md := newModel(m, true)
	return drawMap(md)
}

func drawMap(md *model) Drawing {
	l := layoutMap(md)
	d := Drawing{Width: l.width, Height: l.height, Title: md.title, Summary: mapSummary(md), Desc: mapDesc(md)}
	for _, sec := range l.sections {
		d.Sections = append(d.Sections, Caption{X: sec.x, Y: margin + headerH - 10, Text: strings.ToUpper(sec.title),
			Colour: "#57606a", Bold: true})
	}
	for gi, g := range md.groups {
		b := l.boxes[gi]
		title := g.title
		if _, cat, ok := strings.Cut(g.key, "/"); ok {
			title = words(cat) // the section heading says internal or external
		}
		d.Boxes = append(d.Boxes, Box{X: b.x, Y: b.y, W: b.w, H: b.h, Title: title, Internal: g.scope == "internal"})
	}

	// Parent links: an elbow inside a group, a dashed edge across groups.
	group := make([]int, len(md.parties))
	for gi, g := range md.groups {
		for _, i := range g.members {
			group[i] = gi
		}
	}
	var taken []rect // where an edge label may not go: parties, group titles
	taken = append(taken, l.pills...)
	for _, b := range l.boxes {
		taken = append(taken, rect{b.x, b.y, colW * 0.6, boxHead - 4})
	}
	for _, pc := range md.parents {
		c, p := l.pills[pc[0]], l.pills[pc[1]]
		title := md.parties[pc[0]].Name + " is part of " + md.parties[pc[1]].Name
		if group[pc[0]] == group[pc[1]] {
			x := p.x + 8
			d.Lines = append(d.Lines, Line{Points: []Point{{x, p.y + p.h}, {x, c.y + c.h/2}, {c.x, c.y + c.h/2}},
				Elbow: true, Colour: "#8a8f98", Width: 1.2, Tooltip: title})
			continue
		}
		pts, _, _ := edgePath(c, p, 0, 0)
		d.Lines = append(d.Lines, Line{Points: pts, Colour: "#8a8f98", Width: 1.2, Dash: "4 3", Arrow: true, Tooltip: title})
	}

	// Relationships: parallel edges between one pair fan out.
	pair := map[[2]int]int{}
	nth := make([]int, len(md.edges))
	for i, e := range md.edges {
		k := [2]int{min(e.from, e.to), max(e.from, e.to)}
		nth[i] = pair[k]
		pair[k]++
	}
	drawLabels := len(md.edges) <= MaxEdgeLabels
	for i, e := range md.edges {
		k := [2]int{min(e.from, e.to), max(e.from, e.to)}
		spread := float64(nth[i]) - float64(pair[k]-1)/2
		pts, at, ok := edgePath(l.pills[e.from], l.pills[e.to], spread*6, float64(nth[i])*14)
		colour, width, dash := edgeColour(e), 1.6, ""
		if e.Change != Unchanged {
			width = 3
		}
		if e.Change == Ended {
			dash = "6 4"
		}
		d.Lines = append(d.Lines, Line{Points: pts, Colour: colour, Width: width, Dash: dash, Arrow: true, Tooltip: sentence(md, e)})
		if drawLabels && ok {
			text := e.text()
			if e.Change != Unchanged {
				text = string(e.Change) + ": " + text
			}
			x, y := placeLabel(&taken, at, text)
			d.Labels = append(d.Labels, Caption{X: x, Y: y, Text: text, Colour: colour, Bold: e.Change != Unchanged, Centre: true})
		}
	}

	// Parties, over the edges, so that every name stays readable.
	for i, p := range md.parties {
		r := l.pills[i]
		id := p.ID
		if md.cluster {
			id = ""
		}
		d.Nodes = append(d.Nodes, Node{X: r.x, Y: r.y, W: r.w, H: r.h, TextX: r.x + 8, TextY: r.y + 4.5 + mapFont,
			Lines: l.lines[i], PartyID: id, Tooltip: partyTooltip(p, md.cluster), Internal: p.Scope == "internal"})
	}

	// Legend.
	d.LegendY = l.legendY + legendRow/2
	x, row := margin+60, 0
	for _, it := range legendItems(md) {
		iw := 44 + textWidth(it.text, 11) + 24
		if x+iw > l.width-margin {
			x, row = margin+60, row+1
		}
		d.Legend = append(d.Legend, LegendEntry{X: x, Row: row, Text: it.text, Colour: it.colour, Dash: it.dash, Width: it.width})
		x += iw
	}
	return d
}

// pathD is the SVG path of a line.
func (ln Line) pathD() string {
	p := ln.Points
	if ln.Elbow {
		return fmt.Sprintf("M%s,%s V%s H%s", num(p[0].X), num(p[0].Y), num(p[1].Y), num(p[2].X))
	}
	return fmt.Sprintf("M%s,%s C%s,%s %s,%s %s,%s", num(p[0].X), num(p[0].Y), num(p[1].X), num(p[1].Y),
		num(p[2].X), num(p[2].Y), num(p[3].X), num(p[3].Y))
}

// SVG draws the relationship map. See the package doc for its layout and
// its limits.
func (m Map) SVG() []byte {
	md := newModel(m, true)
	d := drawMap(md)
	var w svg
	w.open("relmap", d.Width, d.Height, d.Title, d.Desc, m.Link != nil)
	w.p(`<defs>`)
	markers := map[string]bool{}
	for _, ln := range d.Lines {
		if ln.Arrow {
			markers[ln.Colour] = true
		}
	}
	for _, it := range d.Legend {
		markers[it.Colour] = true
	}
	for _, c := range slices.Sorted(maps.Keys(markers)) {
		w.p(`<marker id="relmap-arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`,
			c[1:], c)
	}
	w.p("</defs>\n")

	// Title and counts.
	w.p(`<text x="%s" y="%s" font-size="20" font-weight="bold" fill="#1f2328">%s</text>`+"\n", num(margin), num(margin+16), esc(d.Title))
	w.p(`<text x="%s" y="%s" font-size="12" fill="#57606a">%s</text>`+"\n", num(margin), num(margin+36), esc(d.Summary))
	for _, s := range d.Sections {
		w.p(`<text x="%s" y="%s" font-size="13" font-weight="bold" fill="#57606a" letter-spacing="1">%s</text>`+"\n",
			num(s.X), num(s.Y), esc(s.Text))
	}

	// Group boxes.
	for _, b := range d.Boxes {
		fill, stroke := "#f6f8fa", "#d0d7de"
		if b.Internal {
			fill, stroke = "#eef4fb", "#b6cbe3"
		}
		w.p(`<rect x="%s" y="%s" width="%s" height="%s" rx="8" fill="%s" stroke="%s"/>`+"\n",
			num(b.X), num(b.Y), num(b.W), num(b.H), fill, stroke)
		w.text(b.X+boxPad, b.Y+18, []string{b.Title}, 11.5, mapLine, ` font-weight="bold" fill="#424a53"`)
	}

	// Parent links and relationships.
	for _, ln := range d.Lines {
		switch {
		case ln.Elbow:
			w.p(`<path d="%s" fill="none" stroke="%s" stroke-width="%s"><title>%s</title></path>`+"\n",
				ln.pathD(), ln.Colour, num(ln.Width), esc(ln.Tooltip))
		default:
			dash := ""
			if ln.Dash != "" {
				dash = fmt.Sprintf(` stroke-dasharray="%s"`, ln.Dash)
			}
			w.p(`<g><title>%s</title><path d="%s" fill="none" stroke="%s" stroke-width="%s"%s marker-end="url(#relmap-arrow-%s)"/></g>`+"\n",
				esc(ln.Tooltip), ln.pathD(), ln.Colour, num(ln.Width), dash, ln.Colour[1:])
		}
	}

	// Parties, over the edges, so that every name stays readable.
	for _, n := range d.Nodes {
		url := ""
		if md.link != nil && n.PartyID != "" {
			url = md.link(n.PartyID)
		}
		w.linkOpen(url)
		w.p(`<g><title>%s</title>`, esc(n.Tooltip))
		stroke := "#8c959f"
		if n.Internal {
			stroke = "#4a7ab5"
		}
		w.p(`<rect x="%s" y="%s" width="%s" height="%s" rx="5" fill="#ffffff" stroke="%s"/>`,
			num(n.X), num(n.Y), num(n.W), num(n.H), stroke)
		fill := "#1f2328"
		if url != "" {
			fill = "#0b57a4"
		}
		w.text(n.TextX, n.TextY, n.Lines, mapFont, mapLine, fmt.Sprintf(` fill="%s"`, fill))
		w.p("</g>")
		w.linkClose(url)
		if url == "" {
			w.p("\n")
		}
	}

	// Edge labels on top, on a white halo.
	for _, lb := range d.Labels {
		weight := ""
		if lb.Bold {
			weight = ` font-weight="bold"`
		}
		w.p(`<text x="%s" y="%s" font-size="%s" text-anchor="middle" fill="%s" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"%s>%s</text>`+"\n",
			num(lb.X), num(lb.Y), num(labelFont), lb.Colour, weight, esc(lb.Text))
	}

	// Legend.
	w.p(`<text x="%s" y="%s" font-size="11" font-weight="bold" fill="#57606a">Legend</text>`+"\n", num(margin), num(d.LegendY+4))
	for _, it := range d.Legend {
		x, y := it.X, d.LegendY+float64(it.Row)*legendRow
		dash := ""
		if it.Dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, it.Dash)
		}
		w.p(`<path d="M%s,%s H%s" stroke="%s" stroke-width="%s"%s marker-end="url(#relmap-arrow-%s)"/>`,
			num(x), num(y), num(x+34), it.Colour, num(it.Width), dash, it.Colour[1:])
		w.p(`<text x="%s" y="%s" font-size="11" fill="#424a53">%s</text>`+"\n", num(x+42), num(y+4), esc(it.Text))
	}
	w.close()
	return w.Bytes()
}

// edgeColour is the kind's colour, or the change's on a map since a review.
func edgeColour(e edge) string {
	if c, ok := changeColours[e.Change]; ok {
		return c
	}
	return kindColour(e.Kind)
}

// edgePath returns the curve from box a to box b, the point where its
// label belongs, and whether the edge has room for one. Boxes in one
// column are joined by a curve out of their right sides; others by an S
// curve between the facing sides. shift moves both ends vertically and
// bulge widens the curve, to fan out parallel edges.
func edgePath(a, b rect, shift, bulge float64) ([]Point, [2]float64, bool) {
	ay, by := a.y+a.h/2+shift, b.y+b.h/2+shift
	var sx, ex, c1x, c2x float64
	switch {
	case math.Abs((a.x+a.w)-(b.x+b.w)) < colW/2: // same column
		sx, ex = a.x+a.w, b.x+b.w
		out := math.Min(30+0.12*math.Abs(ay-by), colGap-40) + bulge
		c1x, c2x = sx+out, ex+out
	case a.x < b.x:
		sx, ex = a.x+a.w, b.x
		c1x, c2x = sx+(ex-sx)/2+bulge, ex-(ex-sx)/2-bulge
	default:
		sx, ex = a.x, b.x+b.w
		c1x, c2x = sx-(sx-ex)/2-bulge, ex+(sx-ex)/2+bulge
	}
	pts := []Point{{sx, ay}, {c1x, ay}, {c2x, by}, {ex, by}}
	// The curve's midpoint (t = 0.5).
	mx := 0.125*sx + 0.375*c1x + 0.375*c2x + 0.125*ex
	my := (ay + by) / 2
	return pts, [2]float64{mx, my}, true
}

// placeLabel puts a label near at where it overlaps neither a party nor
// another label: it tries steps up and down from the midpoint, and keeps
// the midpoint when the neighbourhood is full.
func placeLabel(taken *[]rect, at [2]float64, text string) (float64, float64) {
	w, h := textWidth(text, labelFont)+6, labelFont+4
	for step := 0; step < 24; step++ {
		dy := float64((step+1)/2) * (h + 1)
		if step%2 == 1 {
			dy = -dy
		}
		r := rect{at[0] - w/2, at[1] + dy - h/2, w, h}
		free := true
		for _, t := range *taken {
			if r.overlaps(t) {
				free = false
				break
			}
		}
		if free {
			*taken = append(*taken, r)
			return at[0], at[1] + dy + labelFont/2 - 1.5
		}
	}
	return at[0], at[1] + labelFont/2 - 1.5
}

// sentence says an edge in words: "Cloud provider supplies Customers".
func sentence(md *model, e edge) string {
	s := md.parties[e.from].Name + " " + e.text() + " " + md.parties[e.to].Name
	if e.Change != Unchanged {
		s += " (" + string(e.Change) + " since " + md.since + ")"
	}
	return s
}

func partyTooltip(p Party, cluster bool) string {
	if cluster {
		return p.Name + ", " + p.Scope
	}
	return fmt.Sprintf("%s — %s, %s; influence %d, interest %d", p.Name, strings.ReplaceAll(p.Category, "_", " "),
		p.Scope, p.Influence, p.Interest)
}

func mapSummary(md *model) string {
	s := fmt.Sprintf("%d parties in %d groups · %d relationships", len(md.parties), len(md.groups), len(md.edges))
	if md.cluster {
		s = fmt.Sprintf("%d parties, clustered by category (more than %d) · %d relationships; filter by category or party to see single parties",
			md.totalParties, MaxMapParties, md.totalRels)
	}
	n := map[Change]int{}
	for _, e := range md.edges {
		n[e.Change] += e.count
	}
	if n[Added]+n[Changed]+n[Ended] > 0 {
		s += fmt.Sprintf(" · since %s: %d added, %d changed, %d ended", md.since, n[Added], n[Changed], n[Ended])
	}
	return s
}

// mapDesc is the accessible description: the counts, then every
// relationship as a sentence.
func mapDesc(md *model) string {
	var b strings.Builder
	b.WriteString("Relationship map of interested parties, grouped internal and external and by category. ")
	b.WriteString(mapSummary(md) + ".")
	for _, e := range md.edges {
		b.WriteString(" " + sentence(md, e) + ".")
	}
	for _, pc := range md.parents {
		b.WriteString(" " + md.parties[pc[0]].Name + " is part of " + md.parties[pc[1]].Name + ".")
	}
	return b.String()
}
