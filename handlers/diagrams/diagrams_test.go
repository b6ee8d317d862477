package diagrams

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// demoParties are the demo organisation's parties (handlers/demo), plus the
// competitor the relationship map needs.
func demoParties() []Party {
	return []Party{
		{ID: "board", Name: "Board of directors", Category: "executive", Scope: "internal", Influence: 5, Interest: 4},
		{ID: "leadership", Name: "Executive leadership team", Category: "executive", Scope: "internal", Influence: 5, Interest: 5},
		{ID: "shareholders", Name: "Shareholders and investors", Category: "shareholder", Scope: "internal", Influence: 4, Interest: 3},
		{ID: "employees", Name: "Employees", Category: "employee", Scope: "internal", Influence: 3, Interest: 4},
		{ID: "customers", Name: "Customers", Category: "customer", Scope: "external", Influence: 5, Interest: 5},
		{ID: "gov", Name: "Government customers", Category: "government_customer", Scope: "external", Influence: 4, Interest: 5, ParentID: "customers"},
		{ID: "dpa", Name: "Data Protection Commission (lead supervisory authority)", Category: "regulator", Scope: "external", Influence: 5, Interest: 3},
		{ID: "nis2", Name: "National cybersecurity authority (NIS2)", Category: "regulator", Scope: "external", Influence: 4, Interest: 3},
		{ID: "cloud", Name: "Cloud hosting provider (IaaS, EU regions)", Category: "supplier", Scope: "external", Influence: 4, Interest: 2},
		{ID: "payflow", Name: "PayFlow HR (payroll and HR SaaS)", Category: "supplier", Scope: "external", Influence: 2, Interest: 2},
		{ID: "insurer", Name: "Cyber insurer", Category: "insurer", Scope: "external", Influence: 3, Interest: 3},
		{ID: "cb", Name: "Certification body (ISO/IEC 27001 auditor)", Category: "auditor", Scope: "external", Influence: 4, Interest: 3},
		{ID: "landlord", Name: "Office landlord (Dublin HQ)", Category: "landlord", Scope: "external", Influence: 2, Interest: 2},
		{ID: "resellers", Name: "Reseller partners", Category: "partner", Scope: "external", Influence: 3, Interest: 3},
		{ID: "researchers", Name: "Security researchers", Category: "community", Scope: "external", Influence: 2, Interest: 3},
		{ID: "contoso", Name: "Contoso Cloud (competitor)", Category: "competitor", Scope: "external", Influence: 2, Interest: 1},
	}
}

func demoRelationships() []Relationship {
	return []Relationship{
		{ID: "r01", From: "cloud", To: "customers", Kind: "other", Label: "hosts customer data"},
		{ID: "r02", From: "dpa", To: "customers", Kind: "regulates"},
		{ID: "r03", From: "nis2", To: "gov", Kind: "regulates", Change: Added},
		{ID: "r04", From: "resellers", To: "customers", Kind: "represents"},
		{ID: "r05", From: "cb", To: "leadership", Kind: "audits"},
		{ID: "r06", From: "contoso", To: "customers", Kind: "competes_with"},
		{ID: "r07", From: "shareholders", To: "board", Kind: "influences"},
		{ID: "r08", From: "payflow", To: "employees", Kind: "supplies", Label: "payroll", Change: Changed},
		{ID: "r09", From: "insurer", To: "leadership", Kind: "contracts_with", Label: "cyber policy"},
		{ID: "r10", From: "landlord", To: "employees", Kind: "supplies", Label: "office", Change: Ended},
		{ID: "r11", From: "gov", To: "cloud", Kind: "depends_on"},
		{ID: "r12", From: "shareholders", To: "leadership", Kind: "owns"},
	}
}

func demoMap() Map {
	return Map{Parties: demoParties(), Relationships: demoRelationships(),
		Link: func(id string) string { return "/parties/" + id }}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; rerun with -update and review the diff", name)
	}
}

// mustParseXML checks that b is well-formed XML with an <svg> root, and
// returns the character data of every <text> and every <a href>.
func mustParseXML(tb testing.TB, b []byte) (texts []string, hrefs []string) {
	tb.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	depth, inText := 0, 0
	var cur strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && (t.Name.Local != "svg" || t.Name.Space != "http://www.w3.org/2000/svg") {
				tb.Fatalf("root element is %v, want svg in the SVG namespace", t.Name)
			}
			depth++
			if t.Name.Local == "text" {
				inText++
				cur.Reset()
			}
			if t.Name.Local == "tspan" && cur.Len() > 0 {
				cur.WriteByte(' ')
			}
			if t.Name.Local == "a" {
				for _, a := range t.Attr {
					if a.Name.Local == "href" {
						hrefs = append(hrefs, a.Value)
					}
				}
			}
		case xml.EndElement:
			depth--
			if t.Name.Local == "text" {
				inText--
				texts = append(texts, cur.String())
			}
		case xml.CharData:
			if inText > 0 {
				cur.Write(t)
			}
		}
	}
	return texts, hrefs
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

func TestMapSVG(t *testing.T) {
	got := demoMap().SVG()
	golden(t, "demo_map.svg", got)
	texts, hrefs := mustParseXML(t, got)
	for _, p := range demoParties() {
		if !contains(texts, p.Name) {
			t.Errorf("no <text> reads %q", p.Name)
		}
		if !contains(hrefs, "/parties/"+p.ID) {
			t.Errorf("no link to /parties/%s", p.ID)
		}
	}
	for _, want := range []string{"hosts customer data", "added: regulates", "changed: supplies: payroll",
		"ended: supplies: office", "competes with", "Legend"} {
		if !contains(texts, want) {
			t.Errorf("no <text> reads %q", want)
		}
	}
	for _, want := range []string{`<title id="relmap-title">`, `<desc id="relmap-desc">`,
		"Cloud hosting provider (IaaS, EU regions) hosts customer data Customers.",
		"Government customers is part of Customers."} {
		if !bytes.Contains(got, []byte(want)) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if !bytes.Equal(got, demoMap().SVG()) {
		t.Error("two renderings of the same map differ")
	}
}

// TestMapInputOrder checks determinism across input order: the renderer
// sorts, so a read model that returns rows in another order draws the
// same bytes.
func TestMapInputOrder(t *testing.T) {
	m := demoMap()
	rev := Map{Link: m.Link}
	for i := len(m.Parties) - 1; i >= 0; i-- {
		rev.Parties = append(rev.Parties, m.Parties[i])
	}
	for i := len(m.Relationships) - 1; i >= 0; i-- {
		rev.Relationships = append(rev.Relationships, m.Relationships[i])
	}
	for name, f := range map[string]func(Map) []byte{"svg": Map.SVG, "dot": Map.DOT, "mermaid": Map.Mermaid} {
		if !bytes.Equal(f(m), f(rev)) {
			t.Errorf("%s: reordered input renders differently", name)
		}
	}
}

func TestMapDOT(t *testing.T) {
	got := demoMap().DOT()
	golden(t, "demo_map.dot", got)
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Fatal("Graphviz `dot` is not installed (Debian package graphviz; .ci/run installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dot, "-Tsvg")
	cmd.Stdin = bytes.NewReader(got)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("dot warned: %s", stderr.String())
	}
	// Graphviz's own SVG carries every name and every link.
	for _, p := range demoParties() {
		if !bytes.Contains(out.Bytes(), []byte(esc(p.Name))) {
			t.Errorf("Graphviz output lacks %q", p.Name)
		}
	}
	if !bytes.Contains(out.Bytes(), []byte(`/parties/cloud`)) {
		t.Error("Graphviz output lacks the party links")
	}
}

// TestDOTQuoting renders names that would break a naive DOT writer.
func TestDOTQuoting(t *testing.T) {
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Fatal("Graphviz `dot` is not installed")
	}
	m := Map{Parties: []Party{
		{ID: "a", Name: `Quote " and backslash \ and \N and {braces}; -> arrow`, Category: "other", Scope: "external"},
		{ID: "b", Name: "<b>html</b> & ampersand", Category: "other", Scope: "weird"},
	}, Relationships: []Relationship{{ID: "r", From: "a", To: "b", Kind: "other", Label: `say "hi" \l`}}}
	cmd := exec.Command(dot, "-Tplain")
	cmd.Stdin = bytes.NewReader(m.DOT())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dot: %v\n%s\n%s", err, out, m.DOT())
	}
	if !bytes.Contains(out, []byte(`\N`)) {
		t.Errorf("the literal \\N did not survive: %s", out)
	}
}

func TestMapMermaid(t *testing.T) {
	got := demoMap().Mermaid()
	golden(t, "demo_map.mmd", got)
	s := string(got)
	for _, want := range []string{"flowchart LR\n", `n5 -.->|"part of"| n4`, `-->|"added: regulates"|`,
		`click n1 href "/parties/board"`, "linkStyle 12 "} {
		if !strings.Contains(s, want) {
			t.Errorf("Mermaid lacks %q", want)
		}
	}
	// Every subgraph is closed.
	if o, e := strings.Count(s, "subgraph "), strings.Count(s, "  end\n"); o != e {
		t.Errorf("%d subgraphs, %d ends", o, e)
	}
	esc := Map{Parties: []Party{{ID: "a", Name: `A "B" #1 <x> | y`, Scope: "external", Category: "other"}}}.Mermaid()
	if !strings.Contains(string(esc), `n0["A #34;B#34; #35;1 #60;x#62; #124; y"]`) {
		t.Errorf("Mermaid label not escaped:\n%s", esc)
	}
}

func TestGridSVG(t *testing.T) {
	g := Grid{Parties: demoParties(), Link: func(id string) string { return "/parties/" + id }}
	got := g.SVG()
	golden(t, "demo_grid.svg", got)
	texts, hrefs := mustParseXML(t, got)
	for _, p := range demoParties() {
		if !contains(texts, p.Name) {
			t.Errorf("no <text> reads %q", p.Name)
		}
		if !contains(hrefs, "/parties/"+p.ID) {
			t.Errorf("no link to /parties/%s", p.ID)
		}
	}
	for _, want := range []string{"MANAGE CLOSELY (11)", "KEEP SATISFIED (1)", "KEEP INFORMED (1)", "MONITOR (3)"} {
		if !contains(texts, want) {
			t.Errorf("no <text> reads %q; texts: %q", want, texts)
		}
	}
}

func TestQuadrant(t *testing.T) {
	for _, tt := range []struct {
		inf, int_ int
		want      string
	}{{5, 5, ManageClosely}, {3, 3, ManageClosely}, {5, 2, KeepSatisfied}, {2, 5, KeepInformed},
		{2, 2, Monitor}, {1, 1, Monitor}, {3, 2, KeepSatisfied}, {2, 3, KeepInformed}} {
		if got := Quadrant(tt.inf, tt.int_); got != tt.want {
			t.Errorf("Quadrant(%d, %d) = %q, want %q", tt.inf, tt.int_, got, tt.want)
		}
	}
}

// bigRegister is n parties over every category with long names, and about
// 1.5 relationships per party.
func bigRegister(n int) Map {
	cats := []string{"customer", "supplier", "regulator", "partner", "employee", "auditor", "competitor", "community"}
	kinds := []string{"supplies", "regulates", "audits", "represents", "depends_on", "influences", "competes_with"}
	var m Map
	for i := range n {
		scope := "external"
		if i%9 == 0 {
			scope = "internal"
		}
		p := Party{ID: fmt.Sprintf("p%03d", i), Name: fmt.Sprintf("Party %03d with a rather long name, Ltd. (region %d)", i, i%7),
			Category: cats[i%len(cats)], Scope: scope, Influence: 1 + i%5, Interest: 1 + (i/5)%5}
		if i%10 == 3 {
			p.ParentID = fmt.Sprintf("p%03d", i-3)
		}
		m.Parties = append(m.Parties, p)
	}
	for i := range n * 3 / 2 {
		m.Relationships = append(m.Relationships, Relationship{ID: fmt.Sprintf("r%04d", i),
			From: fmt.Sprintf("p%03d", i%n), To: fmt.Sprintf("p%03d", (i*7+3)%n), Kind: kinds[i%len(kinds)]})
	}
	return m
}

// TestMapReadableAt200 checks the layout at the size the issue names: no
// two party boxes overlap, and every name is drawn as text.
func TestMapReadableAt200(t *testing.T) {
	m := bigRegister(MaxMapParties)
	md := newModel(m, true)
	if md.cluster {
		t.Fatal("200 parties were clustered")
	}
	l := layoutMap(md)
	for i := range l.pills {
		for j := i + 1; j < len(l.pills); j++ {
			if l.pills[i].overlaps(l.pills[j]) {
				t.Fatalf("%s and %s overlap", md.parties[i].Name, md.parties[j].Name)
			}
		}
	}
	texts, _ := mustParseXML(t, m.SVG())
	for _, p := range m.Parties {
		if !contains(texts, p.Name) {
			t.Errorf("no <text> reads %q", p.Name)
		}
	}
	if l.width > 4*l.height || l.height > 4*l.width {
		t.Errorf("map is %v × %v: not a readable shape", l.width, l.height)
	}
}

// TestMapClusteredAbove200 checks what happens beyond the limit: one node
// per (scope, category) with its count.
func TestMapClusteredAbove200(t *testing.T) {
	m := bigRegister(MaxMapParties + 50)
	got := m.SVG()
	texts, _ := mustParseXML(t, got)
	if !contains(texts, "Customer") || !contains(texts, "28 parties") {
		t.Errorf("no cluster node for customers; texts: %q", texts[:min(10, len(texts))])
	}
	if bytes.Contains(got, []byte("Party 001 with")) {
		t.Error("a single party is drawn on the clustered map")
	}
	if !bytes.Contains(got, []byte("clustered by category")) {
		t.Error("the clustered map does not say it is clustered")
	}
}

// TestGridNoOverlap puts many parties on one score: every entry gets its
// own place.
func TestGridNoOverlap(t *testing.T) {
	m := bigRegister(MaxMapParties)
	for i := range 40 {
		m.Parties[i].Influence, m.Parties[i].Interest = 5, 5
	}
	l := layoutGrid(Grid{Parties: m.Parties})
	for i := range l.entries {
		for j := i + 1; j < len(l.entries); j++ {
			if l.entries[i].box.overlaps(l.entries[j].box) {
				t.Fatalf("%s and %s overlap", l.entries[i].p.Name, l.entries[j].p.Name)
			}
		}
	}
	texts, _ := mustParseXML(t, Grid{Parties: m.Parties}.SVG())
	for _, p := range m.Parties {
		// Long names wrap onto two tspans, which the parser joins with a space.
		if !contains(texts, p.Name) {
			t.Errorf("no <text> reads %q", p.Name)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		in    string
		lines int
		want  []string
	}{
		{"Short", 2, []string{"Short"}},
		{"Cloud hosting provider (IaaS, EU regions)", 2, []string{"Cloud hosting provider", "(IaaS, EU regions)"}},
		{strings.Repeat("word ", 40), 2, nil},
	} {
		got := wrap(tt.in, 150, 12, tt.lines)
		if len(got) > tt.lines {
			t.Errorf("wrap(%q) = %d lines, want at most %d", tt.in, len(got), tt.lines)
		}
		for _, l := range got {
			if w := textWidth(l, 12); w > 150 {
				t.Errorf("wrap(%q): line %q is %v wide", tt.in, l, w)
			}
		}
		if tt.want != nil && strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if tt.want == nil && !strings.HasSuffix(got[len(got)-1], "…") {
			t.Errorf("wrap(%q) = %q: a cut name must end with …", tt.in, got)
		}
	}
}
