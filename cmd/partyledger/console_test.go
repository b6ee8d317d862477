package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// consoleClient is a browser-like HTTP client: a cookie jar, no automatic
// redirects (the tests look at them).
func consoleClient(tb testing.TB) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// consoleDo sends one console request; form, if not nil, is posted
// urlencoded. hdr are extra header pairs. It returns the status, the
// response and the body.
func consoleDo(tb testing.TB, c *http.Client, method, u string, form url.Values, hdr ...string) (*http.Response, string) {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// MustSignIn signs c in to the console with an API token.
func MustSignIn(tb testing.TB, c *http.Client, base, token string) {
	tb.Helper()
	resp, body := consoleDo(tb, c, "POST", base+"/login", url.Values{"token": {token}},
		"Origin", base, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign in: status %d, want 303; %s", resp.StatusCode, body)
	}
}

// createToken makes an API token with the admin token and returns its secret.
func createToken(tb testing.TB, ts *testServer, name, role string) string {
	tb.Helper()
	var out struct {
		Token string `json:"token"`
	}
	mustStatus(tb, ts.do(tb, "POST", "/api/v1/tokens", map[string]any{"name": name, "role": role}, &out), http.StatusCreated)
	return out.Token
}

func TestConsoleSignInAndSession(t *testing.T) {
	ts := MustRunServe(t, "")
	c := consoleClient(t)

	// A signed-out browser is sent to the sign-in form.
	resp, _ := consoleDo(t, c, "GET", ts.URL+"/", nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("GET / signed out: %d Location %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := consoleDo(t, c, "GET", ts.URL+"/login", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("GET /login: %d, no token field", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-") {
		t.Errorf("CSP %q allows unsafe-*", csp)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q", got)
	}

	// A wrong token is refused and starts no session.
	resp, _ = consoleDo(t, c, "POST", ts.URL+"/login", url.Values{"token": {"plt_wrong"}})
	if resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Fatalf("bad token: %d cookies %v, want 401 and no cookie", resp.StatusCode, resp.Cookies())
	}

	// A good one sets an HttpOnly, SameSite session cookie.
	resp, _ = consoleDo(t, c, "POST", ts.URL+"/login", url.Values{"token": {ts.Token}, "next": {"/register"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/register" {
		t.Fatalf("sign in: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie = %+v, want one HttpOnly SameSite=Lax cookie", cookies)
	}
	if strings.HasPrefix(cookies[0].Value, "plt_") || strings.Contains(cookies[0].Value, ts.Token) {
		t.Fatal("the cookie carries the API token")
	}
	resp, body = consoleDo(t, c, "GET", ts.URL+"/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Dashboard") {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}

	// Cross-site writes carrying the cookie are refused and write nothing.
	before := eventCount(t, ts.DB)
	form := url.Values{"name": {"Evil Corp"}, "category": {"other"}, "scope": {"external"},
		"influence": {"3"}, "interest": {"3"}, "reason": {"x"}, "trigger": {"other"}}
	resp, _ = consoleDo(t, c, "POST", ts.URL+"/parties", form, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST /parties: %d, want 403", resp.StatusCode)
	}
	resp, _ = consoleDo(t, c, "POST", ts.URL+"/parties", form, "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /parties from another Origin: %d, want 403", resp.StatusCode)
	}
	if n := eventCount(t, ts.DB); n != before {
		t.Fatalf("events %d -> %d after refused cross-site posts", before, n)
	}
	// The same form from the console's own origin works.
	resp, body = consoleDo(t, c, "POST", ts.URL+"/parties", form, "Sec-Fetch-Site", "same-origin", "Origin", ts.URL)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/parties/") {
		t.Fatalf("same-origin POST /parties: %d %s", resp.StatusCode, body)
	}

	// Revoking the token ends its sessions.
	editor := createToken(t, ts, "editor-1", "editor")
	c2 := consoleClient(t)
	MustSignIn(t, c2, ts.URL, editor)
	if resp, _ := consoleDo(t, c2, "GET", ts.URL+"/register", nil); resp.StatusCode != 200 {
		t.Fatalf("editor register: %d", resp.StatusCode)
	}
	mustStatus(t, ts.do(t, "DELETE", "/api/v1/tokens/editor-1", nil, nil), http.StatusNoContent)
	if resp, _ := consoleDo(t, c2, "GET", ts.URL+"/register", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register after revocation: %d, want 303 to /login", resp.StatusCode)
	}

	// Sign-out ends the session.
	resp, _ = consoleDo(t, c, "POST", ts.URL+"/logout", url.Values{}, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := consoleDo(t, c, "GET", ts.URL+"/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout GET /: %d, want 303", resp.StatusCode)
	}
	// The API still answers under /api/v1 on the same address.
	mustStatus(t, ts.do(t, "GET", "/api/v1/register", nil, nil), http.StatusOK)
}

func TestConsoleViewerRefused(t *testing.T) {
	ts := MustRunServe(t, "")
	var p struct {
		ID string `json:"id"`
	}
	mustStatus(t, ts.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Regulator A", "category": "regulator", "scope": "external"}, &p), http.StatusCreated)
	for _, role := range []string{"viewer", "auditor"} {
		c := consoleClient(t)
		MustSignIn(t, c, ts.URL, createToken(t, ts, role+"-1", role))
		resp, body := consoleDo(t, c, "GET", ts.URL+"/parties/"+p.ID, nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "Regulator A") {
			t.Fatalf("%s: party page %d", role, resp.StatusCode)
		}
		for _, ctl := range []string{"/edit", "/requirements/new", "/retire", "Add a party"} {
			if strings.Contains(body, ctl) {
				t.Errorf("%s sees the edit control %q", role, ctl)
			}
		}
		if resp, _ := consoleDo(t, c, "GET", ts.URL+"/parties/new", nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s GET /parties/new: %d, want 403", role, resp.StatusCode)
		}
		before := eventCount(t, ts.DB)
		writes := []struct{ path string }{{"/parties"}, {"/parties/" + p.ID}, {"/parties/" + p.ID + "/retire"},
			{"/parties/" + p.ID + "/requirements"}, {"/reviews"}}
		for _, w := range writes {
			resp, _ := consoleDo(t, c, "POST", ts.URL+w.path, url.Values{"name": {"x"}, "reason": {"x"}, "version": {"1"}},
				"Sec-Fetch-Site", "same-origin")
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", role, w.path, resp.StatusCode)
			}
		}
		if n := eventCount(t, ts.DB); n != before {
			t.Errorf("%s: events %d -> %d after refused writes", role, before, n)
		}
	}
}

func TestConsoleFormsWriteThroughCommands(t *testing.T) {
	ts := MustRunServe(t, "")
	c := consoleClient(t)
	MustSignIn(t, c, ts.URL, ts.Token)
	post := func(path string, form url.Values) (*http.Response, string) {
		return consoleDo(t, c, "POST", ts.URL+path, form, "Sec-Fetch-Site", "same-origin", "Origin", ts.URL)
	}

	// Bad input writes nothing and names the field.
	before := eventCount(t, ts.DB)
	resp, body := post("/parties", url.Values{"name": {""}, "category": {"nonsense"}, "scope": {"external"},
		"influence": {"3"}, "interest": {"3"}, "reason": {"x"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "fielderr") {
		t.Fatalf("bad party form: %d", resp.StatusCode)
	}
	if n := eventCount(t, ts.DB); n != before {
		t.Fatalf("a refused form wrote: events %d -> %d", before, n)
	}

	resp, _ = post("/parties", url.Values{"name": {"Insurer B"}, "category": {"insurer"}, "scope": {"external"},
		"influence": {"4"}, "interest": {"2"}, "reason": {"Cyber policy"}, "trigger": {"contract_change"}})
	id := strings.TrimPrefix(strings.SplitN(resp.Header.Get("Location"), "?", 2)[0], "/parties/")
	if resp.StatusCode != http.StatusSeeOther || len(id) != 36 {
		t.Fatalf("add party: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = post("/parties/"+id+"/requirements", url.Values{"kind": {"requirement"}, "title": {"MFA on remote access"},
		"source_type": {"contract"}, "source_ref": {"Policy §4"}, "priority": {"high"}, "reason": {"Policy condition"}, "trigger": {"contract_change"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add requirement: %d", resp.StatusCode)
	}
	type partyJSON struct {
		Version      int64 `json:"version"`
		Requirements []struct {
			ID        string   `json:"id"`
			Addressed *bool    `json:"addressed"`
			Controls  []string `json:"controls"`
			Status    string   `json:"status"`
		} `json:"requirements"`
	}
	var p partyJSON
	ts.do(t, "GET", "/api/v1/parties/"+id, nil, &p)
	if len(p.Requirements) != 1 {
		t.Fatalf("requirements: %+v", p.Requirements)
	}
	rid := p.Requirements[0].ID
	v := func() string {
		var q partyJSON
		ts.do(t, "GET", "/api/v1/parties/"+id, nil, &q)
		return strconv.FormatInt(q.Version, 10)
	}
	resp, _ = post("/parties/"+id+"/requirements/"+rid+"/addressing", url.Values{"version": {v()}, "addressed": {"true"},
		"rationale": {"Insurer condition"}, "controls": {"A.5.17, A.8.5"}, "reason": {"Decided at the risk workshop"}, "trigger": {"risk_assessment"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("addressing: %d", resp.StatusCode)
	}
	ts.do(t, "GET", "/api/v1/parties/"+id, nil, &p)
	if a := p.Requirements[0]; a.Addressed == nil || !*a.Addressed || strings.Join(a.Controls, " ") != "A.5.17 A.8.5" {
		t.Fatalf("after the decision: %+v", a)
	}
	// A stale version is refused with 409 and writes nothing.
	before = eventCount(t, ts.DB)
	resp, _ = post("/parties/"+id+"/requirements/"+rid+"/retire", url.Values{"version": {"1"}, "reason": {"Policy lapsed"}})
	if resp.StatusCode != http.StatusPreconditionFailed && resp.StatusCode != http.StatusConflict {
		t.Fatalf("stale retire: %d, want 409/412", resp.StatusCode)
	}
	if n := eventCount(t, ts.DB); n != before {
		t.Fatalf("a stale retire wrote: events %d -> %d", before, n)
	}
	resp, _ = post("/parties/"+id+"/requirements/"+rid+"/retire", url.Values{"version": {v()}, "reason": {"Policy lapsed"}, "trigger": {"contract_change"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retire requirement: %d", resp.StatusCode)
	}
	ts.do(t, "GET", "/api/v1/parties/"+id, nil, &p)
	if len(p.Requirements) != 1 || p.Requirements[0].Status != "retired" {
		t.Fatalf("the requirement is not retired: %+v", p.Requirements)
	}
	// The register downloads as CSV with the session.
	resp, body = consoleDo(t, c, "GET", ts.URL+"/register.csv", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(body, "Insurer B") {
		t.Fatalf("register.csv: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
