package report

import (
	"fmt"
	"strings"

	"github.com/partyledger/partyledger/handlers/diagrams"
	"github.com/partyledger/partyledger/projections"
)

// GridSVG draws the power–interest grid (influence × interest, 1–5) of the
// parties as an inline SVG with the shared renderer ([diagrams.Grid], the
// one the API and the console draw with): four quadrants, every name as
// text. The drawing depends only on the parties, so the same register gives
// the same bytes.
func GridSVG(parties []projections.PartyView) string {
	g := diagrams.Grid{Parties: make([]diagrams.Party, 0, len(parties))}
	for _, p := range parties {
		g.Parties = append(g.Parties, diagramParty(p))
	}
	return string(g.SVG())
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
