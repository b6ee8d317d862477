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
			out = append(out, legendEntry{text: string(c) + " since the review", colour: changeColours[c], dash: dash, width: 3})
		}
	}
	return out
}

// SVG draws the relationship map. See the package doc for its layout and
// its limits.
func (m Map) SVG() []byte {
	md := newModel(m, true)
	l := layoutMap(md)
	var w svg
	w.open("relmap", l.width, l.height, md.title, mapDesc(md), m.Link != nil)
	w.p(`<defs>`)
	markers := map[string]bool{}
	for _, e := range md.edges {
		markers[edgeColour(e)] = true
	}
	for _, it := range legendItems(md) {
		markers[it.colour] = true
	}
	for _, c := range slices.Sorted(maps.Keys(markers)) {
		w.p(`<marker id="relmap-arrow-%s" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>`,
			c[1:], c)
	}
	w.p("</defs>\n")

	// Title and counts.
	w.p(`<text x="%s" y="%s" font-size="20" font-weight="bold" fill="#1f2328">%s</text>`+"\n", num(margin), num(margin+16), esc(md.title))
	w.p(`<text x="%s" y="%s" font-size="12" fill="#57606a">%s</text>`+"\n", num(margin), num(margin+36), esc(mapSummary(md)))
	for _, s := range l.sections {
		w.p(`<text x="%s" y="%s" font-size="13" font-weight="bold" fill="#57606a" letter-spacing="1">%s</text>`+"\n",
			num(s.x), num(margin+headerH-10), esc(strings.ToUpper(s.title)))
	}

	// Group boxes.
	for gi, g := range md.groups {
		b := l.boxes[gi]
		fill, stroke := "#f6f8fa", "#d0d7de"
		if g.scope == "internal" {
			fill, stroke = "#eef4fb", "#b6cbe3"
		}
		w.p(`<rect x="%s" y="%s" width="%s" height="%s" rx="8" fill="%s" stroke="%s"/>`+"\n",
			num(b.x), num(b.y), num(b.w), num(b.h), fill, stroke)
		title := g.title
		if _, cat, ok := strings.Cut(g.key, "/"); ok {
			title = words(cat) // the section heading says internal or external
		}
		w.text(b.x+boxPad, b.y+18, []string{title}, 11.5, mapLine, ` font-weight="bold" fill="#424a53"`)
	}

	// Parent links: an elbow inside a group, a dashed edge across groups.
	group := make([]int, len(md.parties))
	for gi, g := range md.groups {
		for _, i := range g.members {
			group[i] = gi
		}
	}
	var labels []rect // where an edge label may not go: parties, group titles
	labels = append(labels, l.pills...)
	for _, b := range l.boxes {
		labels = append(labels, rect{b.x, b.y, colW * 0.6, boxHead - 4})
	}
	for _, pc := range md.parents {
		c, p := l.pills[pc[0]], l.pills[pc[1]]
		title := md.parties[pc[0]].Name + " is part of " + md.parties[pc[1]].Name
		if group[pc[0]] == group[pc[1]] {
			x := p.x + 8
			w.p(`<path d="M%s,%s V%s H%s" fill="none" stroke="#8a8f98" stroke-width="1.2"><title>%s</title></path>`+"\n",
				num(x), num(p.y+p.h), num(c.y+c.h/2), num(c.x), esc(title))
			continue
		}
		d, _, _ := edgePath(c, p, 0, 0)
		w.p(`<g><title>%s</title><path d="%s" fill="none" stroke="#8a8f98" stroke-width="1.2" stroke-dasharray="4 3" marker-end="url(#relmap-arrow-8a8f98)"/></g>`+"\n",
			esc(title), d)
	}

	// Relationships: parallel edges between one pair fan out.
	pair := map[[2]int]int{}
	nth := make([]int, len(md.edges))
	for i, e := range md.edges {
		k := [2]int{min(e.from, e.to), max(e.from, e.to)}
		nth[i] = pair[k]
		pair[k]++
	}
	type placed struct {
		x, y float64
		text string
		e    edge
	}
	var edgeLabels []placed
	drawLabels := len(md.edges) <= MaxEdgeLabels
	for i, e := range md.edges {
		k := [2]int{min(e.from, e.to), max(e.from, e.to)}
		spread := float64(nth[i]) - float64(pair[k]-1)/2
		d, at, ok := edgePath(l.pills[e.from], l.pills[e.to], spread*6, float64(nth[i])*14)
		colour, width, dash := edgeColour(e), 1.6, ""
		if e.Change != Unchanged {
			width = 3
		}
		if e.Change == Ended {
			dash = ` stroke-dasharray="6 4"`
		}
		w.p(`<g><title>%s</title><path d="%s" fill="none" stroke="%s" stroke-width="%s"%s marker-end="url(#relmap-arrow-%s)"/></g>`+"\n",
			esc(sentence(md, e)), d, colour, num(width), dash, colour[1:])
		if drawLabels && ok {
			text := e.text()
			if e.Change != Unchanged {
				text = string(e.Change) + ": " + text
			}
			x, y := placeLabel(&labels, at, text)
			edgeLabels = append(edgeLabels, placed{x, y, text, e})
		}
	}

	// Parties, over the edges, so that every name stays readable.
	for i, p := range md.parties {
		r := l.pills[i]
		url := ""
		if md.link != nil && !md.cluster {
			url = md.link(p.ID)
		}
		w.linkOpen(url)
		w.p(`<g><title>%s</title>`, esc(partyTooltip(p, md.cluster)))
		stroke := "#8c959f"
		if p.Scope == "internal" {
			stroke = "#4a7ab5"
		}
		w.p(`<rect x="%s" y="%s" width="%s" height="%s" rx="5" fill="#ffffff" stroke="%s"/>`,
			num(r.x), num(r.y), num(r.w), num(r.h), stroke)
		fill := "#1f2328"
		if url != "" {
			fill = "#0b57a4"
		}
		w.text(r.x+8, r.y+4.5+mapFont, l.lines[i], mapFont, mapLine, fmt.Sprintf(` fill="%s"`, fill))
		w.p("</g>")
		w.linkClose(url)
		if url == "" {
			w.p("\n")
		}
	}

	// Edge labels on top, on a white halo.
	for _, pl := range edgeLabels {
		colour := edgeColour(pl.e)
		weight := ""
		if pl.e.Change != Unchanged {
			weight = ` font-weight="bold"`
		}
		w.p(`<text x="%s" y="%s" font-size="%s" text-anchor="middle" fill="%s" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"%s>%s</text>`+"\n",
			num(pl.x), num(pl.y), num(labelFont), colour, weight, esc(pl.text))
	}

	// Legend.
	x, y := margin, l.legendY+legendRow/2
	w.p(`<text x="%s" y="%s" font-size="11" font-weight="bold" fill="#57606a">Legend</text>`+"\n", num(x), num(y+4))
	x += 60
	for _, it := range legendItems(md) {
		iw := 44 + textWidth(it.text, 11) + 24
		if x+iw > l.width-margin {
			x, y = margin+60, y+legendRow
		}
		dash := ""
		if it.dash != "" {
			dash = fmt.Sprintf(` stroke-dasharray="%s"`, it.dash)
		}
		w.p(`<path d="M%s,%s H%s" stroke="%s" stroke-width="%s"%s marker-end="url(#relmap-arrow-%s)"/>`,
			num(x), num(y), num(x+34), it.colour, num(it.width), dash, it.colour[1:])
		w.p(`<text x="%s" y="%s" font-size="11" fill="#424a53">%s</text>`+"\n", num(x+42), num(y+4), esc(it.text))
		x += iw
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

// edgePath returns an SVG path from box a to box b, the point where its
// label belongs, and whether the edge has room for one. Boxes in one
// column are joined by a curve out of their right sides; others by an S
// curve between the facing sides. shift moves both ends vertically and
// bulge widens the curve, to fan out parallel edges.
func edgePath(a, b rect, shift, bulge float64) (string, [2]float64, bool) {
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
	d := fmt.Sprintf("M%s,%s C%s,%s %s,%s %s,%s", num(sx), num(ay), num(c1x), num(ay), num(c2x), num(by), num(ex), num(by))
	// The curve's midpoint (t = 0.5).
	mx := 0.125*sx + 0.375*c1x + 0.375*c2x + 0.125*ex
	my := (ay + by) / 2
	return d, [2]float64{mx, my}, true
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
		s += " (" + string(e.Change) + " since the review)"
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
		s += fmt.Sprintf(" · since the review: %d added, %d changed, %d ended", n[Added], n[Changed], n[Ended])
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
