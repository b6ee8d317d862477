package diagrams

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Geometry of the power–interest grid, in pixels.
const (
	gridFont   = 12.0
	gridLine   = 14.5
	cellW      = 200.0
	cellPad    = 8.0
	minCellH   = 64.0
	gridLeft   = 84.0  // y axis title and ticks
	gridTop    = 96.0  // title, subtitle, top quadrant names
	gridBottom = 100.0 // ticks, bottom quadrant names, x axis title, legend
	entryGap   = 5.0
	dotR       = 4.5
)

// quadrantStyle gives each quadrant its background and ink.
var quadrantStyle = map[string][2]string{
	ManageClosely: {"#fde7e5", "#a4281f"},
	KeepSatisfied: {"#fff3d9", "#8a5a00"},
	KeepInformed:  {"#e3effc", "#1f5d99"},
	Monitor:       {"#eef0f2", "#4b535c"},
}

// gridLayout is where everything of the grid goes.
type gridLayout struct {
	width, height float64
	rowY, rowH    [6]float64 // by influence 1–5
	entries       []gridEntry
}

// gridEntry is one party's place: its dot and its (wrapped) name.
type gridEntry struct {
	p     Party
	x, y  float64 // top-left of the entry
	lines []string
	box   rect
}

func clampLevel(n int) int { return min(5, max(1, n)) }

// colX returns the left edge of the column of an interest score.
func colX(interest int) float64 { return gridLeft + float64(interest-1)*cellW }

// layoutGrid stacks the parties of each cell (sorted by name) from its top;
// each row is as tall as its fullest cell, so no two names overlap however
// many parties share a score.
func layoutGrid(g Grid) *gridLayout {
	ps := slices.Clone(g.Parties)
	slices.SortFunc(ps, func(a, b Party) int {
		return cmp.Or(-cmp.Compare(clampLevel(a.Influence), clampLevel(b.Influence)),
			cmp.Compare(clampLevel(a.Interest), clampLevel(b.Interest)), byName(a, b))
	})
	l := &gridLayout{width: gridLeft + 5*cellW + 24}
	type cell struct{ inf, int_ int }
	used := map[cell]float64{}
	heights := map[cell][]float64{}
	for _, p := range ps {
		c := cell{clampLevel(p.Influence), clampLevel(p.Interest)}
		lines := wrap(p.Name, cellW-2*cellPad-16, gridFont, 2)
		h := float64(len(lines))*gridLine + 2
		l.entries = append(l.entries, gridEntry{p: p, lines: lines})
		heights[c] = append(heights[c], used[c])
		used[c] += h + entryGap
	}
	for inf := 1; inf <= 5; inf++ {
		h := minCellH
		for it := 1; it <= 5; it++ {
			h = max(h, used[cell{inf, it}]+2*cellPad)
		}
		l.rowH[inf] = h
	}
	y := gridTop
	for inf := 5; inf >= 1; inf-- {
		l.rowY[inf] = y
		y += l.rowH[inf]
	}
	l.height = y + gridBottom
	next := map[cell]int{}
	for i := range l.entries {
		e := &l.entries[i]
		c := cell{clampLevel(e.p.Influence), clampLevel(e.p.Interest)}
		off := heights[c][next[c]]
		next[c]++
		e.x, e.y = colX(c.int_)+cellPad, l.rowY[c.inf]+cellPad+off
		e.box = rect{e.x, e.y, cellW - 2*cellPad, float64(len(e.lines))*gridLine + 2}
	}
	return l
}

// SVG draws the power–interest grid: interest across, influence up, the
// four quadrants (manage closely, keep satisfied, keep informed, monitor)
// and each party in the cell of its scores.
func (g Grid) SVG() []byte {
	l := layoutGrid(g)
	title := g.Title
	if title == "" {
		title = "Interested parties: power–interest grid"
	}
	var w svg
	w.open("pigrid", l.width, l.height, title, gridDesc(l), g.Link != nil)
	w.p(`<text x="24" y="40" font-size="20" font-weight="bold" fill="#1f2328">%s</text>`+"\n", esc(title))
	n := map[string]int{}
	for _, e := range l.entries {
		n[Quadrant(e.p.Influence, e.p.Interest)]++
	}
	w.p(`<text x="24" y="60" font-size="12" fill="#57606a">%s</text>`+"\n",
		esc(fmt.Sprintf("%d parties · manage closely %d · keep satisfied %d · keep informed %d · monitor %d",
			len(l.entries), n[ManageClosely], n[KeepSatisfied], n[KeepInformed], n[Monitor])))

	top, bottom := l.rowY[5], l.rowY[1]+l.rowH[1]
	mid := l.rowY[HighFrom-1] // the top of the highest low-influence row
	left, right, split := colX(1), colX(5)+cellW, colX(HighFrom)
	quads := []struct {
		name       string
		x0, y0, x1 float64
		y1         float64
		labelY     float64
	}{
		{KeepSatisfied, left, top, split, mid, top - 10},
		{ManageClosely, split, top, right, mid, top - 10},
		{Monitor, left, mid, split, bottom, bottom + 40},
		{KeepInformed, split, mid, right, bottom, bottom + 40},
	}
	for _, q := range quads {
		st := quadrantStyle[q.name]
		w.p(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n", num(q.x0), num(q.y0), num(q.x1-q.x0), num(q.y1-q.y0), st[0])
		w.p(`<text x="%s" y="%s" font-size="13" font-weight="bold" text-anchor="middle" fill="%s" letter-spacing="0.5">%s (%d)</text>`+"\n",
			num((q.x0+q.x1)/2), num(q.labelY), st[1], esc(strings.ToUpper(q.name)), n[q.name])
	}
	// Cell lines, then the quadrant lines over them.
	for it := 2; it <= 5; it++ {
		w.p(`<path d="M%s,%s V%s" stroke="#ffffff" stroke-width="1.5"/>`+"\n", num(colX(it)), num(top), num(bottom))
	}
	for inf := 1; inf <= 4; inf++ {
		w.p(`<path d="M%s,%s H%s" stroke="#ffffff" stroke-width="1.5"/>`+"\n", num(left), num(l.rowY[inf]), num(right))
	}
	w.p(`<path d="M%s,%s H%s M%s,%s V%s" stroke="#57606a" stroke-width="1.5" stroke-dasharray="5 4"/>`+"\n",
		num(left), num(mid), num(right), num(split), num(top), num(bottom))
	w.p(`<rect x="%s" y="%s" width="%s" height="%s" fill="none" stroke="#8c959f"/>`+"\n", num(left), num(top), num(right-left), num(bottom-top))
	// Axes.
	for s := 1; s <= 5; s++ {
		w.p(`<text x="%s" y="%s" font-size="11" text-anchor="middle" fill="#57606a">%d</text>`+"\n",
			num(colX(s)+cellW/2), num(bottom+16), s)
		w.p(`<text x="%s" y="%s" font-size="11" text-anchor="end" fill="#57606a">%d</text>`+"\n",
			num(left-8), num(l.rowY[s]+l.rowH[s]/2+4), s)
	}
	w.p(`<text x="%s" y="%s" font-size="12" font-weight="bold" text-anchor="middle" fill="#424a53">Interest in the ISMS →</text>`+"\n",
		num((left+right)/2), num(bottom+64))
	cy := (top + bottom) / 2
	w.p(`<text x="%s" y="%s" font-size="12" font-weight="bold" text-anchor="middle" fill="#424a53" transform="rotate(-90 %s %s)">Influence (power) →</text>`+"\n",
		num(left-40), num(cy), num(left-40), num(cy))

	// Parties.
	for _, e := range l.entries {
		url := ""
		if g.Link != nil {
			url = g.Link(e.p.ID)
		}
		w.linkOpen(url)
		w.p(`<g><title>%s</title>`, esc(fmt.Sprintf("%s — %s, %s; influence %d, interest %d: %s", e.p.Name,
			strings.ReplaceAll(e.p.Category, "_", " "), e.p.Scope, e.p.Influence, e.p.Interest, Quadrant(e.p.Influence, e.p.Interest))))
		fill, stroke := "#ffffff", "#1f2328"
		if e.p.Scope == "internal" {
			fill, stroke = "#2f6fb3", "#2f6fb3"
		}
		w.p(`<circle cx="%s" cy="%s" r="%s" fill="%s" stroke="%s" stroke-width="1.5"/>`,
			num(e.x+dotR+1), num(e.y+gridLine/2+1), num(dotR), fill, stroke)
		ink := "#1f2328"
		if url != "" {
			ink = "#0b57a4"
		}
		w.text(e.x+16, e.y+gridFont, e.lines, gridFont, gridLine, fmt.Sprintf(` fill="%s"`, ink))
		w.p("</g>")
		w.linkClose(url)
		if url == "" {
			w.p("\n")
		}
	}
	// Legend.
	ly := l.height - 14
	w.p(`<circle cx="%s" cy="%s" r="%s" fill="#2f6fb3" stroke="#2f6fb3" stroke-width="1.5"/>`, num(left+5), num(ly-4), num(dotR))
	w.p(`<text x="%s" y="%s" font-size="11" fill="#424a53">internal party</text>`+"\n", num(left+16), num(ly))
	w.p(`<circle cx="%s" cy="%s" r="%s" fill="#ffffff" stroke="#1f2328" stroke-width="1.5"/>`, num(left+125), num(ly-4), num(dotR))
	w.p(`<text x="%s" y="%s" font-size="11" fill="#424a53">external party</text>`+"\n", num(left+136), num(ly))
	w.p(`<text x="%s" y="%s" font-size="11" fill="#57606a">Scores 1–5; %d or more counts as high.</text>`+"\n", num(left+250), num(ly), HighFrom)
	w.close()
	return w.Bytes()
}

// gridDesc lists the parties of each quadrant, for assistive technology.
func gridDesc(l *gridLayout) string {
	by := map[string][]string{}
	for _, e := range l.entries {
		q := Quadrant(e.p.Influence, e.p.Interest)
		by[q] = append(by[q], fmt.Sprintf("%s (influence %d, interest %d)", e.p.Name, e.p.Influence, e.p.Interest))
	}
	var b strings.Builder
	b.WriteString("Power–interest grid of interested parties: influence (power) against interest in the ISMS, each from 1 to 5.")
	for _, q := range []string{ManageClosely, KeepSatisfied, KeepInformed, Monitor} {
		fmt.Fprintf(&b, " %s: ", strings.ToUpper(q[:1])+q[1:])
		if len(by[q]) == 0 {
			b.WriteString("none.")
			continue
		}
		b.WriteString(strings.Join(by[q], "; ") + ".")
	}
	return b.String()
}
