package diagrams

import (
	"bytes"
	"fmt"
	"strings"
)

// The text formats are for people who paste the map into their ISMS
// documents and let Graphviz or Mermaid lay it out: they are never
// clustered, whatever the size (filter the map instead).

// DOT writes the relationship map as a Graphviz digraph: one cluster per
// scope, one per category inside it, parent links dashed, relationships as
// labelled edges coloured by kind.
func (m Map) DOT() []byte {
	md := newModel(m, false)
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("digraph relationship_map {\n")
	p("  graph [rankdir=LR, fontname=%s, fontsize=16, labelloc=t, label=%s, nodesep=0.25, ranksep=1.1, newrank=true];\n",
		dotQ("Helvetica"), dotQ(md.title))
	p("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#8c959f\", fontname=%s, fontsize=11];\n", dotQ("Helvetica"))
	p("  edge [fontname=%s, fontsize=9, arrowsize=0.7];\n", dotQ("Helvetica"))
	scope := ""
	for gi, g := range md.groups {
		if g.scope != scope {
			if scope != "" {
				p("  }\n")
			}
			scope = g.scope
			fill := "#f6f8fa"
			if scope == "internal" {
				fill = "#eef4fb"
			}
			p("  subgraph %s {\n    label=%s; style=\"rounded,filled\"; fillcolor=%s; color=\"#d0d7de\"; fontsize=13;\n",
				dotQ("cluster_"+scopeID(scope)), dotQ(words(scope)), dotQ(fill))
		}
		_, cat, _ := strings.Cut(g.key, "/")
		p("    subgraph %s {\n      label=%s; style=\"rounded,filled\"; fillcolor=\"#ffffff\"; color=\"#d0d7de\"; fontsize=11;\n",
			dotQ(fmt.Sprintf("cluster_g%d", gi)), dotQ(words(cat)))
		for _, i := range g.members {
			pt := md.parties[i]
			attrs := fmt.Sprintf("label=%s, tooltip=%s", dotQ(pt.Name), dotQ(partyTooltip(pt, false)))
			if md.link != nil {
				if u := md.link(pt.ID); u != "" {
					attrs += fmt.Sprintf(", URL=%s, target=\"_top\", fontcolor=\"#0b57a4\"", dotQ(u))
				}
			}
			if pt.Scope == "internal" {
				attrs += `, color="#4a7ab5"`
			}
			p("      n%d [%s];\n", i, attrs)
		}
		p("    }\n")
	}
	if scope != "" {
		p("  }\n")
	}
	for _, pc := range md.parents {
		p("  n%d -> n%d [label=\"part of\", style=dashed, color=\"#8a8f98\", fontcolor=\"#57606a\", arrowhead=empty];\n", pc[0], pc[1])
	}
	for _, e := range md.edges {
		c := edgeColour(e)
		text := e.text()
		attrs := fmt.Sprintf("label=%s, tooltip=%s, color=%s, fontcolor=%s", dotQ(text), dotQ(sentence(md, e)), dotQ(c), dotQ(c))
		switch e.Change {
		case Added, Changed:
			attrs = fmt.Sprintf("label=%s, tooltip=%s, color=%s, fontcolor=%s, penwidth=2.5", dotQ(string(e.Change)+": "+text),
				dotQ(sentence(md, e)), dotQ(c), dotQ(c))
		case Ended:
			attrs = fmt.Sprintf("label=%s, tooltip=%s, color=%s, fontcolor=%s, penwidth=2.5, style=dashed", dotQ("ended: "+text),
				dotQ(sentence(md, e)), dotQ(c), dotQ(c))
		}
		p("  n%d -> n%d [%s];\n", e.from, e.to, attrs)
	}
	p("}\n")
	return b.Bytes()
}

func scopeID(s string) string {
	if s == "internal" || s == "external" {
		return s
	}
	return "other"
}

// dotQ quotes s as a DOT string: backslashes and quotes escaped, so that
// no escape sequence of Graphviz's (\N, \G, \l) is taken from user text.
func dotQ(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ", "\t", " ")
	return `"` + r.Replace(s) + `"`
}

// Mermaid writes the relationship map as a Mermaid flowchart: one
// subgraph per scope and per category, dotted parent links, labelled
// relationship edges coloured by kind with linkStyle.
func (m Map) Mermaid() []byte {
	md := newModel(m, false)
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("%%%% %s\n", strings.Join(strings.Fields(md.title), " "))
	p("flowchart LR\n")
	scope := ""
	for gi, g := range md.groups {
		if g.scope != scope {
			if scope != "" {
				p("  end\n")
			}
			scope = g.scope
			p("  subgraph scope_%s[\"%s\"]\n", scopeID(scope), mermaidEsc(words(scope)))
		}
		_, cat, _ := strings.Cut(g.key, "/")
		p("    subgraph g%d[\"%s\"]\n", gi, mermaidEsc(words(cat)))
		for _, i := range g.members {
			p("      n%d[\"%s\"]\n", i, mermaidEsc(md.parties[i].Name))
		}
		p("    end\n")
	}
	if scope != "" {
		p("  end\n")
	}
	var styles []string
	for _, pc := range md.parents {
		p("  n%d -.->|\"part of\"| n%d\n", pc[0], pc[1])
		styles = append(styles, "stroke:#8a8f98,color:#57606a")
	}
	for _, e := range md.edges {
		text := e.text()
		if e.Change != Unchanged {
			text = string(e.Change) + ": " + text
		}
		p("  n%d -->|\"%s\"| n%d\n", e.from, mermaidEsc(text), e.to)
		c := edgeColour(e)
		st := "stroke:" + c + ",color:" + c
		switch e.Change {
		case Added, Changed:
			st += ",stroke-width:3px"
		case Ended:
			st += ",stroke-width:3px,stroke-dasharray:6 4"
		}
		styles = append(styles, st)
	}
	for i, st := range styles {
		p("  linkStyle %d %s\n", i, st)
	}
	p("  classDef internal fill:#eef4fb,stroke:#4a7ab5\n")
	p("  classDef external fill:#ffffff,stroke:#8c959f\n")
	for _, s := range []string{"internal", "external"} {
		var ids []string
		for i, pt := range md.parties {
			if pt.Scope == s {
				ids = append(ids, fmt.Sprintf("n%d", i))
			}
		}
		if len(ids) > 0 {
			p("  class %s %s\n", strings.Join(ids, ","), s)
		}
	}
	if md.link != nil {
		for i, pt := range md.parties {
			if u := md.link(pt.ID); u != "" {
				p("  click n%d href \"%s\"\n", i, strings.ReplaceAll(u, `"`, "%22"))
			}
		}
	}
	return b.Bytes()
}

// mermaidEsc makes s safe inside a quoted Mermaid label: the characters
// Mermaid would read as syntax become entity codes.
func mermaidEsc(s string) string {
	var b strings.Builder
	for _, r := range strings.Join(strings.Fields(s), " ") {
		switch r {
		case '"', '#', '<', '>', '&', '|', '`', ';':
			fmt.Fprintf(&b, "#%d;", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
