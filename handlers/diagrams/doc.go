// Package diagrams draws the interested-parties diagrams: the relationship
// map (SVG, Graphviz DOT and Mermaid) and the power–interest grid (SVG).
//
// It is the one renderer behind the HTTP API, the change report and the
// console. It knows nothing of the event log or the read models: callers
// fill its own input types ([Map], [Grid]) and get bytes back.
//
// # Properties every output keeps
//
//   - Deterministic: the same input gives the same bytes (inputs are sorted
//     here, numbers are formatted with fixed precision), so golden files and
//     diffs work.
//   - SVG is drawn server-side with presentation attributes only (no script,
//     no <style> element), so it can be inlined under a strict
//     Content-Security-Policy. It carries <title> and <desc> for assistive
//     technology, each party's name as <text>, and, when [Map.Link] or
//     [Grid.Link] is set, a link to the party.
//
// # Size
//
// The relationship map lays parties out in boxes by scope (internal first)
// and category, so it stays readable up to [MaxMapParties] parties; edge
// labels are drawn up to [MaxEdgeLabels] relationships and otherwise left
// to the colour legend and each edge's tooltip. Beyond [MaxMapParties] the
// SVG is clustered: one node per category with its party count, and one
// edge per pair of categories with the number of relationships; callers
// narrow the map with filters (category, party) to see single parties.
// The power–interest grid grows its rows to fit every name, so it has no
// limit beyond the page length.
package diagrams
