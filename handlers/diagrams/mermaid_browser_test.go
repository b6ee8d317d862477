package diagrams

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partyledger/partyledger/handlers/browsertest"
)

// mermaidSource is mermaid, vendored from the npm registry
// (testdata/mermaid/README.md says which version and how).
//
//go:embed testdata/mermaid/mermaid.min.js
var mermaidSource []byte

// awkwardMap has names that Mermaid's grammar gives meaning to: quotes,
// brackets, pipes, semicolons, hashes, angle brackets, backticks, and
// letters outside ASCII.
func awkwardMap() Map {
	return Map{
		Parties: []Party{
			{ID: "a", Name: `Müller & Söhne "GmbH" [DE]`, Category: "supplier", Scope: "external", Influence: 3, Interest: 2},
			{ID: "b", Name: "Board (Vorstand) {exec}; #1 | <top>", Category: "executive", Scope: "internal", Influence: 5, Interest: 5},
			{ID: "c", Name: "Ведомство «Надзор» — 监管机构 `x` 🚀", Category: "regulator", Scope: "external", Influence: 5, Interest: 3},
			{ID: "d", Name: `end`, Category: "other", Scope: "external", Influence: 1, Interest: 1, ParentID: "a"},
			{ID: "e", Name: `--> graph TD; click x "javascript:alert(1)"`, Category: "media", Scope: "external", Influence: 2, Interest: 2},
		},
		Relationships: []Relationship{
			{ID: "r1", From: "a", To: "b", Kind: "supplies", Label: `"gold" [tier] | 24/7; #1`},
			{ID: "r2", From: "c", To: "a", Kind: "regulates", Change: Added},
			{ID: "r3", From: "e", To: "b", Kind: "other", Label: "writes <b>about</b> `them`", Change: Ended},
			{ID: "r4", From: "d", To: "c", Kind: "depends_on", Change: Changed},
		},
		Link: func(id string) string { return "/parties/" + id + `?x="1"&y=<2>` },
	}
}

// TestMermaidParsesInChromium loads the vendored mermaid in headless
// Chromium and parses the Mermaid of the demo map and of a map with awkward
// names with mermaid.parse. A broken diagram must be refused, so that the
// check can fail.
func TestMermaidParsesInChromium(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/mermaid.min.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = w.Write(mermaidSource)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!DOCTYPE html><html><head><meta charset="utf-8"><script src="/mermaid.min.js"></script></head><body></body></html>`)
		}
	}))
	defer srv.Close()
	ctx := browsertest.MustStart(t, 2*time.Minute)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
		t.Fatalf("open the page: %v", err)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof mermaid === "object" && typeof mermaid.parse === "function"`))
	if err != nil || !loaded {
		t.Fatalf("mermaid is not loaded in the page (%v)", err)
	}
	// parse resolves for a valid diagram and rejects with the grammar's
	// message otherwise (suppressErrors is not set).
	parse := func(src string) string {
		t.Helper()
		js := fmt.Sprintf(`mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
			mermaid.parse(%s).then(r => r && r.diagramType ? "ok " + r.diagramType : "ok", e => "error: " + (e && e.message || e))`,
			jsString(src))
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("mermaid.parse: %v", err)
		}
		return got
	}
	for name, m := range map[string]Map{"demo": demoMap(), "awkward names": awkwardMap(),
		"demo without links": {Parties: demoParties(), Relationships: demoRelationships()}} {
		src := string(m.Mermaid())
		if got := parse(src); !strings.HasPrefix(got, "ok") {
			t.Errorf("%s: mermaid refuses the map: %s\n%s", name, got, src)
		}
	}
	// The check can fail: a flowchart with an unclosed subgraph label and a
	// dangling edge is refused.
	broken := "flowchart LR\n  subgraph g0[\"Broken\n    n0[\"a\"] -->|\"x| \n"
	if got := parse(broken); !strings.HasPrefix(got, "error") {
		t.Errorf("mermaid.parse accepted a broken diagram: %s", got)
	}
	// And the escaping matters: the awkward names written raw are refused.
	raw := "flowchart LR\n  n0[\"" + awkwardMap().Parties[0].Name + "\"] -->|\"" + awkwardMap().Relationships[0].Label + "\"| n1[\"x\"]\n"
	if got := parse(raw); !strings.HasPrefix(got, "error") {
		t.Errorf("mermaid.parse accepted unescaped quotes: %s", got)
	}
}

// jsString quotes s as a JavaScript string literal (JSON escapes U+2028,
// U+2029 and <, so the literal is valid JavaScript too).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
