package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue 22: an admin sets an owner's contacts through the /owners form in
// Chromium and sees them listed (axe-core clean before and after, and with
// a field error); a viewer gets no form and a 403 on a post.
func TestConsoleOwnersBrowser(t *testing.T) {
	ts := MustRunServe(t, "")
	mustStatus(t, ts.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Northwind Bank", "category": "customer",
		"scope": "external", "owner": "Head of Sales"}, nil), http.StatusCreated)
	b := newBrowser(t, ts.URL)
	b.open("/login")
	b.fill("#token", ts.Token)
	b.submit(`form[action="/login"]`)

	// From the navigation to the page; the owner is a gap.
	b.open("/")
	b.do(chromedp.Click(chromedp.CSS(`nav a[href="/owners"]`)))
	b.waitNewPage()
	if h := b.text("h1"); h != "Owners and their contacts" {
		t.Fatalf("the Owners link led to %q", h)
	}
	if !strings.Contains(b.text("table.owners"), "no contact — reminders cannot reach them") {
		t.Fatal("the owner without a contact is not marked")
	}
	b.mustAccessible("/owners")

	// A bad address comes back beside the form, which stays open.
	key := eval[string](b, `document.querySelector("table.owners tbody tr").id.replace("owner-", "")`)
	b.do(chromedp.Click(chromedp.CSS("#owner-" + key + " summary")))
	b.fill("#emails-"+key, "sales@example.com\nnobody", "#reason-"+key, "Sales mailbox", "#trigger-"+key, "other")
	b.submit("#owner-" + key + " form")
	if st := b.status(); st != http.StatusUnprocessableEntity {
		t.Fatalf("bad address: status %d, want 422", st)
	}
	if !strings.Contains(b.text("#emails-err-"+key), "“nobody” must be an e-mail address") {
		t.Fatalf("no field error: %q", b.text("main"))
	}
	b.mustAccessible("/owners with a field error")

	// Corrected: saved and listed.
	b.fill("#emails-"+key, "sales@example.com\nsales.lead@example.com")
	b.submit("#owner-" + key + " form")
	if !strings.Contains(b.location(), "/owners?saved=") {
		t.Fatalf("after saving the browser is at %s", b.location())
	}
	row := b.text("#owner-" + key)
	if !strings.Contains(row, "sales.lead@example.com") || !strings.Contains(row, "Saved.") || strings.Contains(row, "no contact") {
		t.Fatalf("the owner's row after saving: %q", row)
	}
	b.mustAccessible("/owners saved")

	// A viewer: the list, no form, and a post is refused.
	b.open("/")
	b.submit(`form[action="/logout"]`)
	b.fill("#token", createToken(t, ts, "viewer-1", "viewer"))
	b.submit(`form[action="/login"]`)
	b.open("/owners")
	if !strings.Contains(b.text("table.owners"), "sales.lead@example.com") {
		t.Fatal("the viewer does not see the contacts")
	}
	if n := eval[int](b, `document.querySelectorAll('form[action="/owners"]').length`); n != 0 {
		t.Fatalf("the viewer sees %d owner forms", n)
	}
	before := eventCount(t, ts.DB)
	st := eval[int](b, `fetch("/owners", {method: "POST", body: new URLSearchParams({owner: "Head of Sales",
		emails: "evil@example.com", reason: "x", trigger: "other"})}).then(r => r.status)`)
	if st != http.StatusForbidden {
		t.Fatalf("viewer POST /owners: %d, want 403", st)
	}
	if n := eventCount(t, ts.DB); n != before {
		t.Fatalf("the viewer's post wrote %d events", n-before)
	}
}
