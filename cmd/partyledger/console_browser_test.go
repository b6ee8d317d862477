package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/partyledger/partyledger/handlers/browsertest"
	"github.com/partyledger/partyledger/handlers/demo"
)

// axeSource is axe-core, vendored from the npm registry (testdata/axe-core).
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

var updateScreenshots = flag.Bool("update-screenshots", false, "write the console screenshots into docs/")

// chromiumPath finds Debian's chromium ([browsertest.ChromiumPath]): the
// browser tests skip without it, except on CI, where its absence fails.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	return browsertest.ChromiumPath(tb)
}

// browser is one headless Chromium driven over the DevTools protocol.
type browser struct {
	tb   testing.TB
	ctx  context.Context
	base string
}

func newBrowser(tb testing.TB, base string) *browser {
	tb.Helper()
	ctx := browsertest.MustStart(tb, 4*time.Minute)
	return &browser{tb: tb, ctx: ctx, base: base}
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.tb.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.tb.Fatalf("browser: %v", err)
	}
}

// get runs one action that returns a value.
func get[T any](b *browser, a chromedp.Action[T]) T {
	b.tb.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		b.tb.Fatalf("browser: %v", err)
	}
	return v
}

// open navigates to path and waits for the page.
func (b *browser) open(path string) {
	b.tb.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// submit submits the form that sel names and waits for the next page.
func (b *browser) submit(sel string) {
	b.tb.Helper()
	get(b, chromedp.Evaluate[bool](`document.body.dataset.old = "1"; true`))
	b.do(chromedp.Submit(chromedp.CSS(sel)))
	b.waitNewPage()
}

// waitNewPage waits until the page marked old has been replaced and the new
// one has loaded. Evaluations fail while the navigation swaps the page;
// those are retried.
func (b *browser) waitNewPage() {
	b.tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](
			`!!document.body && document.body.dataset.old !== "1" && document.readyState === "complete"`))
		if err == nil && done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.tb.Fatal("the next page did not load")
}

func (b *browser) fill(pairs ...string) {
	b.tb.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		b.do(chromedp.SetValue(chromedp.CSS(pairs[i]), pairs[i+1]))
	}
}

func (b *browser) text(sel string) string {
	b.tb.Helper()
	return get(b, chromedp.Text(chromedp.CSS(sel)))
}

func (b *browser) value(sel string) string {
	b.tb.Helper()
	return get(b, chromedp.Value(chromedp.CSS(sel)))
}

func (b *browser) location() string {
	b.tb.Helper()
	return get(b, chromedp.Location())
}

// status is the HTTP status of the current page's document.
func (b *browser) status() int {
	b.tb.Helper()
	return get(b, chromedp.Evaluate[int](`performance.getEntriesByType("navigation")[0].responseStatus`))
}

// eval evaluates js, awaiting a promise, and returns its JSON value.
func eval[T any](b *browser, js string) T {
	b.tb.Helper()
	return get(b, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
}

// mustAccessible runs axe-core on the current page and fails on any
// serious or critical violation.
func (b *browser) mustAccessible(name string) {
	b.tb.Helper()
	eval[bool](b, axeSource+"\n;true")
	res := eval[string](b, `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
		r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
		 .map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}))))`)
	var vs []map[string]any
	if err := json.Unmarshal([]byte(res), &vs); err != nil {
		b.tb.Fatalf("axe on %s: %v (%s)", name, err, res)
	}
	for _, v := range vs {
		b.tb.Errorf("axe on %s: %v %v: %v at %v", name, v["impact"], v["id"], v["help"], v["nodes"])
	}
}

// screenshot saves the page as docs/<name>.png when -update-screenshots.
func (b *browser) screenshot(name string) {
	b.tb.Helper()
	if !*updateScreenshots {
		return
	}
	act := chromedp.FullScreenshot(100)
	if strings.HasSuffix(name, "-register") || strings.HasSuffix(name, "-changes") {
		act = chromedp.CaptureScreenshot() // the first screenful: these pages are long
	}
	buf := get(b, act)
	if err := os.WriteFile(filepath.Join("..", "..", "docs", name+".png"), buf, 0o644); err != nil {
		b.tb.Fatal(err)
	}
}

var partyURL = regexp.MustCompile(`/parties/([0-9a-f-]{36})`)

// TestConsoleBrowser drives the real server in headless Chromium: sign in,
// add a party and a requirement through the forms, hold a review, revise
// with a reason, see it on /changes, download the PDF, the stale-version
// flow, a cross-site post, a viewer, and axe-core on every page.
func TestConsoleBrowser(t *testing.T) {
	ts := MustRunServe(t, "")
	b := newBrowser(t, ts.URL)

	// Sign in.
	b.open("/")
	if loc := b.location(); !strings.Contains(loc, "/login") {
		t.Fatalf("signed out / went to %s, want /login", loc)
	}
	b.mustAccessible("/login")
	b.fill("#token", ts.Token)
	b.submit(`form[action="/login"]`)
	if h := b.text("h1"); h != "Dashboard" {
		t.Fatalf("after sign-in h1 = %q", h)
	}
	b.mustAccessible("/")

	// Add a party through the form.
	b.open("/parties/new")
	b.mustAccessible("/parties/new")
	b.fill("#name", "Northwind Bank", "#category", "customer", "#scope", "external", "#owner", "Head of Sales",
		"#influence", "5", "#interest", "4", "#description", "Our largest customer; audits us yearly.",
		"#reason-party", "Signed the master services agreement", "#trigger-party", "contract_change")
	b.submit(`form[action="/parties"]`)
	m := partyURL.FindStringSubmatch(b.location())
	if m == nil {
		t.Fatalf("after adding a party the browser is at %s, want /parties/{uuid}", b.location())
	}
	id := m[1]
	if !strings.Contains(b.text("main"), "The party was added") {
		t.Fatal("no confirmation after adding the party")
	}

	// Add a requirement through the form.
	b.open("/parties/" + id + "/requirements/new")
	b.mustAccessible("requirement form")
	b.fill("#kind", "requirement", "#title", "Encrypt customer data at rest", "#source_type", "contract",
		"#source_ref", "MSA §7.2", "#owner", "CISO", "#priority", "high",
		"#reason-req", "Clause 7.2 of the MSA", "#trigger-req", "contract_change")
	b.submit(`form[action$="/requirements"]`)
	if !strings.Contains(b.text("main"), "Encrypt customer data at rest") {
		t.Fatal("the requirement is not on the party page")
	}

	// Hold a management review: the window closes here.
	b.open("/reviews")
	b.mustAccessible("/reviews")
	b.fill("#held_on", "2026-03-01", "#title", "Q1 ISMS management review", "#attendees", "CEO, CISO",
		"#reason-review", "Quarterly review", "#trigger-review", "management_review")
	b.submit(`form[action="/reviews"]`)
	if !strings.Contains(b.text("main"), "Q1 ISMS management review") {
		t.Fatal("the review is not listed")
	}

	// Revise the party with a reason; it shows in the history.
	b.open("/parties/" + id + "/edit")
	b.mustAccessible("party edit form")
	b.fill("#influence", "4", "#owner", "Chief Revenue Officer",
		"#reason-party", "Account moved to the CRO after the reorganisation", "#trigger-party", "risk_assessment")
	b.submit(`form.form`)
	page := b.text("main")
	for _, want := range []string{"Your change was saved", "Account moved to the CRO", "Head of Sales", "Chief Revenue Officer", "Risk assessment"} {
		if !strings.Contains(page, want) {
			t.Fatalf("party page after the revision lacks %q", want)
		}
	}
	b.mustAccessible("party page")

	// The change is on /changes (since the last review), with who and why.
	b.open("/changes")
	page = b.text("main")
	for _, want := range []string{"Northwind Bank", "Account moved to the CRO", "Chief Revenue Officer", "admin"} {
		if !strings.Contains(page, want) {
			t.Fatalf("/changes lacks %q", want)
		}
	}
	if strings.Contains(page, "Encrypt customer data at rest") {
		t.Fatal("/changes shows a change from before the last review")
	}
	b.mustAccessible("/changes")
	b.open("/changes?view=net&since=beginning")
	if !strings.Contains(b.text("main"), "Encrypt customer data at rest") {
		t.Fatal("net view since the beginning lacks the requirement")
	}
	b.mustAccessible("/changes net")

	// Download the PDF with the browser session.
	pdf := eval[string](b, `fetch("/changes/report?format=pdf").then(async r => r.status + " " + r.headers.get("content-type") + " " +
		new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5)))`)
	if pdf != "200 application/pdf %PDF-" {
		t.Fatalf("PDF download: %q", pdf)
	}

	// The register.
	b.open("/register")
	if !strings.Contains(b.text("table"), "Northwind Bank") {
		t.Fatal("register lacks the party")
	}
	b.mustAccessible("/register")
	b.open("/register?as_of=2000-01-01")
	if !strings.Contains(b.text("main"), "Time travel") {
		t.Fatal("as_of register is not labelled")
	}
	b.mustAccessible("/register as_of")

	// Live: a change made elsewhere shows as "1 new change" on an open page.
	b.open("/register")
	var was struct {
		Version int64 `json:"version"`
	}
	ts.do(t, "GET", "/api/v1/parties/"+id, nil, &was)
	mustStatus(t, ts.do(t, "PATCH", "/api/v1/parties/"+id, map[string]any{"owner": "Chief Revenue Officer (EMEA)",
		"reason": "Regional split", "trigger": "other"}, nil, "If-Match", fmt.Sprintf(`"%d"`, was.Version)), http.StatusOK)
	live := ""
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if live = eval[string](b, `document.getElementById("live").hidden ? "" : document.getElementById("live").textContent`); live != "" {
			break
		}
	}
	if !strings.HasPrefix(live, "1 new change") {
		t.Fatalf("live notice = %q, want 1 new change", live)
	}

	// Stale version: the form was opened, then someone saved through the API.
	b.open("/parties/" + id + "/edit")
	var cur struct {
		Version int64 `json:"version"`
	}
	ts.do(t, "GET", "/api/v1/parties/"+id, nil, &cur)
	mustStatus(t, ts.do(t, "PATCH", "/api/v1/parties/"+id, map[string]any{"description": "Renewed for three years.",
		"reason": "Contract renewal", "trigger": "contract_change"}, nil, "If-Match", fmt.Sprintf(`"%d"`, cur.Version)), http.StatusOK)
	b.fill("#interest", "5", "#reason-party", "They asked for quarterly reports")
	b.submit(`form.form`)
	if st := b.status(); st != http.StatusConflict {
		t.Fatalf("stale save: status %d, want 409", st)
	}
	page = b.text("main")
	for _, want := range []string{"Someone else saved", "Contract renewal", "Renewed for three years."} {
		if !strings.Contains(page, want) {
			t.Fatalf("stale page lacks %q", want)
		}
	}
	b.mustAccessible("stale form")
	interest, desc := b.value("#interest"), b.value("#description")
	if interest != "5" || desc != "Renewed for three years." {
		t.Fatalf("stale form: interest %q description %q, want the user's 5 and the other's text", interest, desc)
	}
	b.submit(`form.form`)
	var after struct {
		Interest    int    `json:"interest"`
		Description string `json:"description"`
	}
	ts.do(t, "GET", "/api/v1/parties/"+id, nil, &after)
	if after.Interest != 5 || after.Description != "Renewed for three years." {
		t.Fatalf("after re-applying: %+v, want both changes", after)
	}

	// A cross-site form post carrying the session cookie is refused.
	before := eventCount(t, ts.DB)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>evil</title><form method="post" action="%s/parties/%s/retire">
<input name="version" value="99"><input name="reason" value="gotcha"><button>go</button></form>`, ts.URL, id)
	}))
	defer evil.Close()
	b.do(chromedp.Navigate(evil.URL), chromedp.WaitReady(chromedp.CSS("form")))
	b.submit("form")
	if st := b.status(); st != http.StatusForbidden {
		t.Fatalf("cross-site post: status %d, want 403", st)
	}
	if n := eventCount(t, ts.DB); n != before {
		t.Fatalf("the cross-site post wrote: events %d -> %d", before, n)
	}

	// Sign out; a viewer sees no edit controls and is refused the form.
	b.open("/")
	b.submit(`form[action="/logout"]`)
	b.fill("#token", createToken(t, ts, "viewer-1", "viewer"))
	b.submit(`form[action="/login"]`)
	b.open("/parties/" + id)
	edits := eval[int](b, `document.querySelectorAll('a[href$="/edit"], form[action$="/retire"]').length`)
	if edits != 0 {
		t.Fatalf("the viewer sees %d edit controls", edits)
	}
	b.open("/parties/new")
	if st := b.status(); st != http.StatusForbidden {
		t.Fatalf("viewer GET /parties/new: %d, want 403", st)
	}
	b.mustAccessible("403 page")
}

// TestConsoleDemoPages loads the example organisation and visits every
// console page in Chromium: each shows its data and passes axe-core. With
// -update-screenshots it also writes the README's screenshots into docs/.
func TestConsoleDemoPages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo.db")
	ctx := context.Background()
	a, err := openApp(ctx, storeFlags{db: path}, newLogger(io.Discard, "text", "error"), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, a.commands, "demo", nil, demo.WithObjectives(), demo.WithRelationships()); err != nil {
		a.Close()
		t.Fatalf("load the demo: %v", err)
	}
	a.Close()
	ts := MustRunServe(t, path)
	b := newBrowser(t, ts.URL)
	b.open("/login")
	b.fill("#token", ts.Token)
	b.submit(`form[action="/login"]`)

	var partyPath string
	for _, p := range []struct{ path, want, shot string }{
		{"/", "changes since the last review", "console-dashboard"},
		{"/register", "Download CSV", "console-register"},
		{"/register?scope=internal&sort=influence", "Internal", ""},
		{"/changes", "Download the report", "console-changes"},
		{"/changes?view=net&since=beginning", "Net", ""},
		{"/reviews", "Record a management review", ""},
		{"/parties/new", "Add the party", ""},
		{"/audit?verify=1", "The chain verified", ""},
		{"/objectives", "below target", "console-objectives"},
		{"/reviews/due", "due", ""},
		{"/communications", "Communications sent", ""},
		{"/diagrams/relationships", "Each name links to its party", "console-relationships"},
		{"/diagrams/relationships?since=last-review&category=supplier", "Changes since the last review", ""},
		{"/diagrams/power-interest", "manage closely", "console-power-interest"},
		{"/diagrams/power-interest?as_of=2026-01-31", "Time travel", ""},
		{"/diagrams/relationships?category=&since=&as_of=", "Each name links to its party", ""}, // the form's empty fields
		{"/audit?actor=demo&trigger=audit_finding", "party.retired", ""},
		{"/owners", "no contact — reminders cannot reach them", "console-owners"},
	} {
		b.open(p.path)
		if st := b.status(); st != http.StatusOK {
			t.Fatalf("%s: status %d", p.path, st)
		}
		if !strings.Contains(b.text("main"), p.want) {
			t.Errorf("%s lacks %q", p.path, p.want)
		}
		b.mustAccessible(p.path)
		if p.shot != "" {
			b.screenshot(p.shot)
		}
		if p.path == "/changes" {
			partyPath = eval[string](b, `document.querySelector('ol.changes a[href^="/parties/"]').getAttribute("href")`)
		}
	}
	// Page weight: the register's HTML, CSS and JS stay under 150 KB.
	b.open("/register")
	weight := eval[int](b, `document.documentElement.outerHTML.length +
		performance.getEntriesByType("resource").reduce((n, r) => n + r.decodedBodySize, 0)`)
	if weight <= 0 || weight > 150<<10 {
		t.Errorf("/register weighs %d bytes, want under 150 KB", weight)
	}
	t.Logf("/register page weight: %d bytes", weight)
	if !strings.HasPrefix(partyPath, "/parties/") {
		t.Fatalf("no party link on /changes: %q", partyPath)
	}
	b.open(partyPath)
	if !strings.Contains(b.text("#history ~ ol"), "demo") {
		t.Error("the party's history does not name the actor")
	}
	b.mustAccessible(partyPath)
	b.screenshot("console-party-history")
	b.open(partyPath + "/edit")
	b.mustAccessible(partyPath + "/edit")
	b.open(partyPath)
	rid := eval[string](b, `(document.querySelector('a[href*="/requirements/"][href$="/edit"]') || {getAttribute: () => ""}).getAttribute("href")`)
	if rid == "" {
		t.Fatal("no requirement edit link on the party page")
	}
	b.open(rid)
	b.mustAccessible("requirement edit form")
}
