package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestOIDCBrowserSignIn clicks "Sign in with <provider>" in headless
// Chromium: the browser goes to the provider (mockoidc, in process) and
// back, lands on the page it asked for, signed in as oidc:<email>, and can
// sign out.
func TestOIDCBrowserSignIn(t *testing.T) {
	ts, _ := MustRunServeOIDC(t, nil, true, nil)
	b := newBrowser(t, ts.URL)

	b.open("/register")
	if loc := b.location(); !strings.Contains(loc, "/login?next=") {
		t.Fatalf("signed out /register went to %s, want /login?next=", loc)
	}
	b.mustAccessible("/login with single sign-on")
	if got := b.text("#oidc-login"); !strings.HasPrefix(got, "Sign in with ") {
		t.Fatalf("sign-in button says %q", got)
	}
	provider(t).QueueUser(person("jane.doe@example.com", "isms-editors"))
	get(b, chromedp.Evaluate[bool](`document.body.dataset.old = "1"; true`))
	b.do(chromedp.Click(chromedp.CSS("#oidc-login")))
	b.waitNewPage()
	if loc := b.location(); loc != ts.URL+"/register" {
		t.Fatalf("after the provider the browser is at %s, want %s/register", loc, ts.URL)
	}
	if got := b.text("header"); !strings.Contains(got, "oidc:jane.doe@example.com") {
		t.Fatalf("the page header does not name the person: %q", got)
	}
	// An editor: the new-party form opens.
	b.open("/parties/new")
	if b.status() != 200 {
		t.Fatalf("GET /parties/new as an OIDC editor: %d", b.status())
	}
}
