package diagrams

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// Limits of the relationship map; see the package doc.
const (
	// MaxMapParties is the largest number of parties the map draws one by
	// one; more are clustered by category.
	MaxMapParties = 200
	// MaxEdgeLabels is the largest number of relationships whose kind is
	// written on the edge; more are told apart by colour only.
	MaxEdgeLabels = 120
)

// Party is one interested party as the diagrams draw it.
type Party struct {
	ID        string
	Name      string
	Category  string // one of domain.Categories; others sort last
	Scope     string // "internal" or "external"
	Influence int    // 1–5
	Interest  int    // 1–5
	ParentID  string // "" when the party has no parent
}

// Change marks a relationship on a map drawn "since a review".
type Change string

// The changes a relationship can show.
const (
	Unchanged Change = ""
	Added     Change = "added"
	Changed   Change = "changed"
	Ended     Change = "ended" // drawn although no longer active, so the reader sees what went
)

// Relationship is one directed relationship From → To.
type Relationship struct {
	ID     string
	From   string // party id
	To     string // party id
	Kind   string // one of domain.RelationshipKinds
	Label  string // required for kind "other"; a qualifier otherwise
	Change Change
}

// Map is the input of the relationship map. Relationships whose ends are
// not among Parties are left out (the caller filtered those parties out),
// and so are parent links to parties not in Parties.
type Map struct {
	Title         string // defaults to "Interested parties: relationship map"
	Parties       []Party
	Relationships []Relationship
	// Link, when set, returns the URL of a party's page; the SVG links each
	// party to it (DOT and Mermaid too).
	Link func(partyID string) string `json:"-"`
	// Since says what the marked changes are measured from, in the legend
	// and the descriptions ("added since the review"); "the review" when
	// empty.
	Since string
}

// Grid is the input of the power–interest grid.
type Grid struct {
	Title   string // defaults to "Interested parties: power–interest grid"
	Parties []Party
	Link    func(partyID string) string `json:"-"`
}

// Quadrants of the power–interest grid, as [Quadrant] returns them.
const (
	ManageClosely = "manage closely"
	KeepSatisfied = "keep satisfied"
	KeepInformed  = "keep informed"
	Monitor       = "monitor"
)

// HighFrom is the lowest score (1–5) that counts as high influence or high
// interest: the quadrant lines run between 2 and 3, so a party at the
// default 3/3 is managed closely rather than merely monitored.
const HighFrom = 3

// Quadrant returns the power–interest quadrant of a party's scores.
func Quadrant(influence, interest int) string {
	switch hiP, hiI := influence >= HighFrom, interest >= HighFrom; {
	case hiP && hiI:
		return ManageClosely
	case hiP:
		return KeepSatisfied
	case hiI:
		return KeepInformed
	}
	return Monitor
}

// group is one box of the map: the parties of one scope and category.
type group struct {
	key     string // "internal/executive"
	scope   string
	title   string // "Internal · Executive"
	members []int  // indices into model.parties, tree order
}

// edge is a relationship between two drawn parties (indices).
type edge struct {
	Relationship
	from, to int
	count    int // relationships this edge stands for (clustered map); 1 otherwise
}

// model is a Map sorted and indexed once, shared by every output format.
type model struct {
	title   string
	parties []Party
	depth   []int // nesting under a parent in the same group
	groups  []group
	edges   []edge
	parents [][2]int // child, parent (both drawn)
	link    func(string) string
	since   string // what changes are marked since ([Map.Since])
	cluster bool   // parties are categories: the map was too large

	totalParties, totalRels int // of the input, before clustering
}

func scopeRank(s string) int {
	switch s {
	case "internal":
		return 0
	case "external":
		return 1
	}
	return 2
}

func categoryRank(c string) int {
	if i := slices.Index(domain.Categories, c); i >= 0 {
		return i
	}
	return len(domain.Categories)
}

// words turns a code such as government_customer into "Government customer".
func words(code string) string {
	s := strings.ReplaceAll(code, "_", " ")
	if s == "" {
		return "Other"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func byName(a, b Party) int {
	return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)),
		cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
}

// newModel sorts and indexes m. Above MaxMapParties, when cluster is
// allowed, it returns the clustered model instead.
func newModel(m Map, allowCluster bool) *model {
	if allowCluster && len(m.Parties) > MaxMapParties {
		return clustered(m)
	}
	md := &model{title: m.Title, link: m.Link, since: m.Since}
	if md.since == "" {
		md.since = "the review"
	}
	if md.title == "" {
		md.title = "Interested parties: relationship map"
	}
	ps := slices.Clone(m.Parties)
	slices.SortFunc(ps, func(a, b Party) int {
		return cmp.Or(cmp.Compare(scopeRank(a.Scope), scopeRank(b.Scope)),
			cmp.Compare(categoryRank(a.Category), categoryRank(b.Category)),
			cmp.Compare(a.Category, b.Category), byName(a, b))
	})
	byID := make(map[string]Party, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	// Group, then order each group as a tree: a child follows its parent
	// when both are in the group.
	var keys []string
	members := map[string][]Party{}
	for _, p := range ps {
		k := p.Scope + "/" + p.Category
		if _, ok := members[k]; !ok {
			keys = append(keys, k)
		}
		members[k] = append(members[k], p)
	}
	index := map[string]int{}
	for _, k := range keys {
		in := members[k]
		inGroup := map[string]bool{}
		for _, p := range in {
			inGroup[p.ID] = true
		}
		children := map[string][]Party{}
		var roots []Party
		for _, p := range in {
			if p.ParentID != "" && p.ParentID != p.ID && inGroup[p.ParentID] {
				children[p.ParentID] = append(children[p.ParentID], p)
			} else {
				roots = append(roots, p)
			}
		}
		g := group{key: k, scope: in[0].Scope, title: words(in[0].Scope) + " · " + words(in[0].Category)}
		seen := map[string]bool{}
		var walk func(p Party, d int)
		walk = func(p Party, d int) {
			if seen[p.ID] {
				return
			}
			seen[p.ID] = true
			index[p.ID] = len(md.parties)
			g.members = append(g.members, len(md.parties))
			md.parties = append(md.parties, p)
			md.depth = append(md.depth, min(d, 3))
			for _, c := range children[p.ID] {
				walk(c, d+1)
			}
		}
		for _, r := range roots {
			walk(r, 0)
		}
		for _, p := range in { // members of a parent cycle, should one exist
			walk(p, 0)
		}
		md.groups = append(md.groups, g)
	}
	for i, p := range md.parties {
		if j, ok := index[p.ParentID]; ok && p.ParentID != p.ID {
			md.parents = append(md.parents, [2]int{i, j})
		}
	}
	for _, r := range m.Relationships {
		f, okF := index[r.From]
		t, okT := index[r.To]
		if okF && okT && f != t {
			md.edges = append(md.edges, edge{Relationship: r, from: f, to: t, count: 1})
		}
	}
	slices.SortFunc(md.edges, func(a, b edge) int {
		return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Label, b.Label), cmp.Compare(a.ID, b.ID))
	})
	return md
}

// clustered replaces each (scope, category) by one party named after it
// with its count, and the relationships by one edge per pair of groups and
// kind with their number.
func clustered(m Map) *model {
	type key struct{ scope, category string }
	count := map[key]int{}
	of := map[string]key{}
	for _, p := range m.Parties {
		k := key{p.Scope, p.Category}
		count[k]++
		of[p.ID] = k
	}
	id := func(k key) string { return "cluster-" + k.scope + "-" + k.category }
	var cm Map
	cm.Title, cm.Link, cm.Since = m.Title, nil, m.Since
	for k, n := range count {
		cm.Parties = append(cm.Parties, Party{ID: id(k), Name: fmt.Sprintf("%d parties", n),
			Category: k.category, Scope: k.scope})
	}
	// One edge per pair of groups and change; it keeps its kind when all
	// its relationships share one, and is "other" (grey) otherwise.
	type ekey struct {
		from, to string
		change   Change
	}
	edges := map[ekey]int{}
	kinds := map[ekey]string{}
	for _, r := range m.Relationships {
		f, okF := of[r.From]
		t, okT := of[r.To]
		if !okF || !okT || f == t {
			continue
		}
		k := ekey{id(f), id(t), r.Change}
		if n := edges[k]; n == 0 {
			kinds[k] = r.Kind
		} else if kinds[k] != r.Kind {
			kinds[k] = ""
		}
		edges[k]++
	}
	for k := range edges {
		kind, label := kinds[k], ""
		if kind == "" {
			kind, label = domain.RelationshipKindOther, "relationships"
		}
		cm.Relationships = append(cm.Relationships, Relationship{ID: fmt.Sprintf("%s>%s>%s", k.from, k.to, k.change),
			From: k.from, To: k.to, Kind: kind, Label: label, Change: k.change})
	}
	md := newModel(cm, false)
	md.cluster = true
	md.totalParties, md.totalRels = len(m.Parties), len(m.Relationships)
	for i, e := range md.edges {
		md.edges[i].count = edges[ekey{e.From, e.To, e.Change}]
	}
	if m.Title == "" {
		md.title = "Interested parties: relationship map (clustered by category)"
	}
	return md
}

// text is what an edge says: the kind in words with its label, and the
// number of relationships it stands for on a clustered map.
func (e edge) text() string {
	k := KindText(e.Kind, e.Label)
	if e.count > 1 {
		k += fmt.Sprintf(" ×%d", e.count)
	}
	return k
}

// KindText is a relationship's kind in words, as the map writes it on an
// edge and the report in its sentences: "supplies", "depends on", the label
// of an "other" relationship, or the kind with its qualifying label
// ("supplies: payroll").
func KindText(kind, label string) string {
	k := strings.ReplaceAll(kind, "_", " ")
	switch {
	case kind == domain.RelationshipKindOther && label != "":
		k = label
	case label != "":
		k += ": " + label
	}
	return k
}
