package report

import (
	"fmt"
	"html"
	"strings"

	"github.com/partyledger/partyledger/projections"
)

// GridSVG draws the power–interest grid (influence × interest, 1–5) of the
// parties as a standalone inline SVG: four quadrants (manage closely, keep
// satisfied, keep informed, monitor) and one labelled dot per party. It is
// the report's own small renderer until the shared diagrams renderer
// (handlers/diagrams) lands; swap the body of this function for it then.
// Names are escaped; the drawing depends only on the parties, so the same
// register gives the same bytes.
var GridSVG = simpleGridSVG

func simpleGridSVG(parties []projections.PartyView) string {
	const size, pad = 400, 40
	cell := float64(size) / 5
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Power–interest grid" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="10">`,
		size+2*pad, size+2*pad, size+2*pad, size+2*pad)
	b.WriteString(`<title>Power–interest grid</title>`)
	half := float64(size) / 2
	quads := []struct {
		x, y  float64
		label string
		fill  string
	}{{0, 0, "keep satisfied", "#fdf2e0"}, {half, 0, "manage closely", "#fbe0e0"},
		{0, half, "monitor", "#f0f0f0"}, {half, half, "keep informed", "#e3effb"}}
	for _, q := range quads {
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="%s" stroke="#999"/>`, pad+q.x, pad+q.y, half, half, q.fill)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" fill="#666">%s</text>`, pad+q.x+6, pad+q.y+14, q.label)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">interest →</text>`, pad+size/2, size+2*pad-8)
	fmt.Fprintf(&b, `<text x="12" y="%d" text-anchor="middle" transform="rotate(-90 12 %d)">influence →</text>`, pad+size/2, pad+size/2)
	seen := map[[2]int]int{}
	for _, p := range sortedByName(parties) {
		in, it := clampLevel(p.Influence), clampLevel(p.Interest)
		k := [2]int{in, it}
		n := seen[k]
		seen[k]++
		x := pad + (float64(it)-0.5)*cell
		y := pad + (5.5-float64(in))*cell + float64(n%4)*11 - 16
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="#333"/><text x="%.1f" y="%.1f">%s</text>`,
			x-cell/2+8, y, x-cell/2+14, y+3.5, html.EscapeString(shorten(p.Name, 18)))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func clampLevel(n int) int { return min(max(n, 1), 5) }

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// GridRows lists the parties of each quadrant, for renderers without
// pictures (Markdown, PDF text, XLSX): quadrant, then names by name.
func GridRows(parties []projections.PartyView) [][2]string {
	by := map[string][]string{}
	for _, p := range sortedByName(parties) {
		q := Quadrant(p.Influence, p.Interest)
		by[q] = append(by[q], fmt.Sprintf("%s (%d/%d)", p.Name, p.Influence, p.Interest))
	}
	var out [][2]string
	for _, q := range []string{"manage closely", "keep satisfied", "keep informed", "monitor"} {
		out = append(out, [2]string{q, strings.Join(by[q], "; ")})
	}
	return out
}
