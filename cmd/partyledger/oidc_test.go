package main

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
)

// MustRunMockOIDC runs a real OIDC provider (mockoidc: discovery, JWKS,
// authorization and token endpoints, RS256-signed ID tokens) on loopback.
// mw, if set, wraps its endpoints (to bend it into a misbehaving one).
func MustRunMockOIDC(tb testing.TB, mw func(*mockoidc.MockOIDC) func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	tb.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		tb.Fatalf("mockoidc: %v", err)
	}
	if mw != nil {
		if err := m.AddMiddleware(mw(m)); err != nil {
			tb.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		tb.Fatalf("start mockoidc: %v", err)
	}
	tb.Cleanup(func() { _ = m.Shutdown() })
	return m
}

// withSignIn sets the console sign-in flags for one test (they are package
// variables, like every feature's) and restores them after it.
func withSignIn(tb testing.TB, m *mockoidc.MockOIDC, clientID string, tokenLogin bool) {
	tb.Helper()
	secret := filepath.Join(tb.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte(m.ClientSecret+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	old := signInOpts
	signInOpts = signInOptions{issuer: m.Issuer(), clientID: clientID, secretFile: secret,
		scopes: []string{"openid", "email", "profile", "groups"}, roleClaim: "groups",
		roleMap: "isms-admins=admin,isms-editors=editor,auditors=auditor,readers=viewer", tokenLogin: tokenLogin}
	tb.Cleanup(func() { signInOpts = old })
}

// oidcStart follows GET /login/oidc to the provider and back: it returns
// the callback URL the provider sends the browser to (with code and
// state), without visiting it. user is queued at the provider.
func oidcStart(tb testing.TB, c *http.Client, base, next string, user *mockoidc.MockUser) *url.URL {
	tb.Helper()
	path := "/login/oidc"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	resp, body := consoleDo(tb, c, "GET", base+path, nil)
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("GET /login/oidc: %d, want 302; %s", resp.StatusCode, body)
	}
	authz, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	q := authz.Query()
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if q.Get(k) == "" {
			tb.Fatalf("authorization request %s lacks %s", authz, k)
		}
	}
	if q.Get("code_challenge_method") != "S256" {
		tb.Fatalf("code_challenge_method = %q, want S256", q.Get("code_challenge_method"))
	}
	provider(tb).QueueUser(user)
	resp, body = consoleDo(tb, consoleClient(tb), "GET", authz.String(), nil)
	if resp.StatusCode != http.StatusFound {
		tb.Fatalf("provider authorize: %d; %s", resp.StatusCode, body)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	if cb.Path != "/login/oidc/callback" || cb.Query().Get("state") != q.Get("state") {
		tb.Fatalf("provider redirected to %s", cb)
	}
	return cb
}

// currentProvider is the provider of the running test (oidcStart queues
// users at it).
var currentProvider *mockoidc.MockOIDC

func provider(tb testing.TB) *mockoidc.MockOIDC {
	tb.Helper()
	if currentProvider == nil {
		tb.Fatal("no mock provider")
	}
	return currentProvider
}

// MustRunServeOIDC runs the server with console sign-in at a fresh mock
// provider.
func MustRunServeOIDC(tb testing.TB, clientID func(*mockoidc.MockOIDC) string, tokenLogin bool,
	mw func(*mockoidc.MockOIDC) func(http.Handler) http.Handler) (*testServer, *mockoidc.MockOIDC) {
	tb.Helper()
	m := MustRunMockOIDC(tb, mw)
	currentProvider = m
	tb.Cleanup(func() { currentProvider = nil })
	id := m.ClientID
	if clientID != nil {
		id = clientID(m)
	}
	withSignIn(tb, m, id, tokenLogin)
	return MustRunServe(tb, ""), m
}

func person(email string, groups ...string) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "sub-" + email, Email: email, EmailVerified: true, Groups: groups}
}

type sessionList struct {
	Sessions []struct {
		ID, Actor, Role, Method string
	} `json:"sessions"`
}

// oidcSignIn signs c in as user and fails unless it works.
func oidcSignIn(tb testing.TB, ts *testServer, c *http.Client, user *mockoidc.MockUser) {
	tb.Helper()
	cb := oidcStart(tb, c, ts.URL, "", user)
	resp, body := consoleDo(tb, c, "GET", cb.String(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		tb.Fatalf("callback for %s: %d Location %q; %s", user.Email, resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// TestOIDCSignInRoles signs people in through a real provider: each role
// of the role map, the highest of several, and a person with no mapped
// group, who is refused with a page that says why and gets no session.
func TestOIDCSignInRoles(t *testing.T) {
	ts, _ := MustRunServeOIDC(t, nil, true, nil)

	resp, body := consoleDo(t, consoleClient(t), "GET", ts.URL+"/login", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/login/oidc"`) || !strings.Contains(body, "Sign in with 127.0.0.1") ||
		!strings.Contains(body, `name="token"`) {
		t.Fatalf("GET /login: %d; want the provider's button and the token field:\n%s", resp.StatusCode, body)
	}

	cases := []struct {
		email  string
		groups []string
		role   string
	}{
		{"ada@example.com", []string{"isms-admins"}, "admin"},
		{"eve@example.com", []string{"isms-editors"}, "editor"},
		{"aud@example.com", []string{"auditors"}, "auditor"},
		{"vic@example.com", []string{"readers", "engineering"}, "viewer"},
		{"max@example.com", []string{"auditors", "isms-editors", "readers"}, "editor"},
	}
	for _, tc := range cases {
		c := consoleClient(t)
		oidcSignIn(t, ts, c, person(tc.email, tc.groups...))
		resp, body := consoleDo(t, c, "GET", ts.URL+"/", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, "oidc:"+tc.email) {
			t.Errorf("%s: dashboard %d, does not name oidc:%s", tc.email, resp.StatusCode, tc.email)
		}
		// The role decides the pages: writers see the new-party form,
		// auditors the audit trail.
		resp, _ = consoleDo(t, c, "GET", ts.URL+"/parties/new", nil)
		if wantOK := tc.role == "admin" || tc.role == "editor"; (resp.StatusCode == 200) != wantOK {
			t.Errorf("%s (%s): GET /parties/new %d", tc.email, tc.role, resp.StatusCode)
		}
		resp, _ = consoleDo(t, c, "GET", ts.URL+"/audit", nil)
		if wantOK := tc.role == "admin" || tc.role == "auditor"; (resp.StatusCode == 200) != wantOK {
			t.Errorf("%s (%s): GET /audit %d", tc.email, tc.role, resp.StatusCode)
		}
	}
	var list sessionList
	mustStatus(t, ts.do(t, "GET", "/api/v1/sessions", nil, &list), 200)
	got := map[string]string{}
	for _, s := range list.Sessions {
		if s.Method == "oidc" {
			got[s.Actor] = s.Role
		}
	}
	for _, tc := range cases {
		if got["oidc:"+tc.email] != tc.role {
			t.Errorf("session of %s has role %q, want %q", tc.email, got["oidc:"+tc.email], tc.role)
		}
	}

	// No mapped group: refused, with the reason, and no session.
	c := consoleClient(t)
	cb := oidcStart(t, c, ts.URL, "", person("nob@example.com", "engineering"))
	resp, body = consoleDo(t, c, "GET", cb.String(), nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "nob@example.com") ||
		!strings.Contains(body, "is mapped to a partyledger role") {
		t.Fatalf("unmapped user: %d, want 403 saying why:\n%s", resp.StatusCode, body)
	}
	if resp, _ := consoleDo(t, c, "GET", ts.URL+"/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unmapped user reached the dashboard: %d", resp.StatusCode)
	}

	// The security log has the sign-ins and the refusal.
	var acc struct {
		Entries []struct{ Actor, Outcome, Path string } `json:"entries"`
	}
	mustStatus(t, ts.do(t, "GET", "/api/v1/audit/access?limit=500", nil, &acc), 200)
	in, refused := map[string]bool{}, map[string]bool{}
	for _, e := range acc.Entries {
		switch e.Outcome {
		case "oidc_signed_in":
			in[e.Actor] = true
		case "oidc_refused":
			refused[e.Actor] = true
		}
	}
	if !in["oidc:ada@example.com"] || !in["oidc:vic@example.com"] || !refused["oidc:nob@example.com"] {
		t.Fatalf("security log: signed in %v, refused %v", in, refused)
	}
}

// TestOIDCWriteAndSessions: a change made by a person signed in through
// the provider is recorded under oidc:<email>; an admin lists the console
// sessions and ends one, which sends its browser back to the sign-in page.
func TestOIDCWriteAndSessions(t *testing.T) {
	ts, _ := MustRunServeOIDC(t, nil, true, nil)
	c := consoleClient(t)
	oidcSignIn(t, ts, c, person("Jane.Doe@Example.com", "isms-editors"))

	form := url.Values{"name": {"Data Protection Authority"}, "category": {"regulator"}, "scope": {"external"},
		"influence": {"5"}, "interest": {"3"}, "reason": {"GDPR supervisory authority"}, "trigger": {"regulatory_change"}}
	resp, body := consoleDo(t, c, "POST", ts.URL+"/parties", form, "Sec-Fetch-Site", "same-origin", "Origin", ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /parties: %d; %s", resp.StatusCode, body)
	}
	var evs struct {
		Events []struct{ Actor, Type string } `json:"events"`
	}
	mustStatus(t, ts.do(t, "GET", "/api/v1/events?actor="+url.QueryEscape("oidc:jane.doe@example.com"), nil, &evs), 200)
	identified := 0
	for _, e := range evs.Events {
		if e.Actor != "oidc:jane.doe@example.com" {
			t.Errorf("event %s by %q in the actor's filter", e.Type, e.Actor)
		}
		if e.Type == "party.identified" {
			identified++
		}
	}
	if identified != 1 {
		t.Fatalf("events by oidc:jane.doe@example.com = %+v, want one party.identified", evs.Events)
	}

	// A token session beside it; only admins see the list.
	tc := consoleClient(t)
	MustSignIn(t, tc, ts.URL, ts.Token)
	var list sessionList
	mustStatus(t, ts.do(t, "GET", "/api/v1/sessions", nil, &list), 200)
	var janeID string
	methods := map[string]string{}
	for _, s := range list.Sessions {
		methods[s.Actor] = s.Method
		if s.Actor == "oidc:jane.doe@example.com" {
			janeID = s.ID
		}
	}
	if len(list.Sessions) != 2 || methods["oidc:jane.doe@example.com"] != "oidc" || methods["admin"] != "token" || janeID == "" {
		t.Fatalf("sessions = %+v", list.Sessions)
	}
	editor := createToken(t, ts, "editor-bot", "editor")
	mustStatus(t, ts.do(t, "GET", "/api/v1/sessions", nil, nil, "Authorization", "Bearer "+editor), http.StatusForbidden)
	mustStatus(t, ts.do(t, "DELETE", "/api/v1/sessions/"+janeID, nil, nil, "Authorization", "Bearer "+editor), http.StatusForbidden)

	mustStatus(t, ts.do(t, "DELETE", "/api/v1/sessions/"+janeID, nil, nil), http.StatusNoContent)
	mustStatus(t, ts.do(t, "DELETE", "/api/v1/sessions/"+janeID, nil, nil), http.StatusNotFound)
	if resp, _ := consoleDo(t, c, "GET", ts.URL+"/register", nil); resp.StatusCode != http.StatusSeeOther ||
		!strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("ended session: GET /register %d %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := consoleDo(t, tc, "GET", ts.URL+"/", nil); resp.StatusCode != 200 {
		t.Fatalf("the other session ended too: %d", resp.StatusCode)
	}
	list = sessionList{}
	mustStatus(t, ts.do(t, "GET", "/api/v1/sessions", nil, &list), 200)
	if len(list.Sessions) != 1 || list.Sessions[0].Actor != "admin" {
		t.Fatalf("after ending jane's: %+v", list.Sessions)
	}
}

// mustRefused visits a callback URL and wants a 400 page containing want,
// no session, and no redirect.
func mustRefused(tb testing.TB, ts *testServer, c *http.Client, u string, status int, want string) {
	tb.Helper()
	resp, body := consoleDo(tb, c, "GET", u, nil)
	if resp.StatusCode != status || resp.Header.Get("Location") != "" || !strings.Contains(body, want) {
		tb.Fatalf("GET %s: %d Location %q, want %d with %q:\n%s", u, resp.StatusCode, resp.Header.Get("Location"), status, want, body)
	}
	if resp, _ := consoleDo(tb, c, "GET", ts.URL+"/", nil); resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("after a refused callback the dashboard answered %d", resp.StatusCode)
	}
}

// TestOIDCCallbackRefusals: a missing, tampered or replayed state, a state
// started in another browser, a code used twice, an ID token that has
// expired, and a provider's error are all refused with a 400 page.
func TestOIDCCallbackRefusals(t *testing.T) {
	ts, m := MustRunServeOIDC(t, nil, true, nil)
	before := eventCount(t, ts.DB)

	c := consoleClient(t)
	cb := oidcStart(t, c, ts.URL, "", person("jane@example.com", "isms-editors"))
	// Missing state.
	noState := *cb
	q := noState.Query()
	q.Del("state")
	noState.RawQuery = q.Encode()
	mustRefused(t, ts, c, noState.String(), http.StatusBadRequest, "has no state")
	// Tampered state.
	tampered := *cb
	q = tampered.Query()
	q.Set("state", q.Get("state")+"x")
	tampered.RawQuery = q.Encode()
	mustRefused(t, ts, c, tampered.String(), http.StatusBadRequest, "unknown, has expired or was already used")
	// The genuine answer, from another browser (no binding cookie).
	other := consoleClient(t)
	mustRefused(t, ts, other, cb.String(), http.StatusBadRequest, "not started in this browser")
	// ... which used the state up: replaying it in the right browser fails.
	mustRefused(t, ts, c, cb.String(), http.StatusBadRequest, "already used")

	// A sign-in that works, then its callback replayed.
	c = consoleClient(t)
	cb = oidcStart(t, c, ts.URL, "/register", person("jane@example.com", "isms-editors"))
	resp, body := consoleDo(t, c, "GET", cb.String(), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/register" {
		t.Fatalf("sign-in: %d %q; %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	c2 := consoleClient(t)
	mustRefused(t, ts, c2, cb.String(), http.StatusBadRequest, "already used")

	// A replayed code: a fresh, genuine state with the code already spent.
	spent := cb.Query().Get("code")
	c3 := consoleClient(t)
	fresh := oidcStart(t, c3, ts.URL, "", person("jane@example.com", "isms-editors"))
	q = fresh.Query()
	q.Set("code", spent)
	fresh.RawQuery = q.Encode()
	mustRefused(t, ts, c3, fresh.String(), http.StatusBadRequest, "refused this sign-in code")
	if !strings.Contains(ts.Logs.String(), "invalid_grant") {
		t.Fatalf("the replayed code was refused for another reason; logs:\n%s", ts.Logs.String())
	}

	// An expired ID token: the provider's clock is two hours behind.
	c4 := consoleClient(t)
	cb = oidcStart(t, c4, ts.URL, "", person("jane@example.com", "isms-editors"))
	m.FastForward(-2 * time.Hour)
	mustRefused(t, ts, c4, cb.String(), http.StatusBadRequest, "did not verify")
	m.FastForward(2 * time.Hour)
	if !strings.Contains(ts.Logs.String(), "token is expired") {
		t.Fatalf("the expired token was refused for another reason; logs:\n%s", ts.Logs.String())
	}

	// The provider answers with an error instead of a code.
	c5 := consoleClient(t)
	cb = oidcStart(t, c5, ts.URL, "", person("jane@example.com", "isms-editors"))
	q = cb.Query()
	q.Del("code")
	q.Set("error", "access_denied")
	cb.RawQuery = q.Encode()
	mustRefused(t, ts, c5, cb.String(), http.StatusBadRequest, "did not sign you in (access_denied)")

	if n := eventCount(t, ts.DB); n != before {
		t.Fatalf("refused sign-ins wrote events: %d -> %d", before, n)
	}
	var list sessionList
	mustStatus(t, ts.do(t, "GET", "/api/v1/sessions", nil, &list), 200)
	if len(list.Sessions) != 1 {
		t.Fatalf("sessions after the refusals = %+v, want only the one genuine sign-in", list.Sessions)
	}
}

// TestOIDCWrongAudience: the provider issues ID tokens for another client
// (its own client ID) while partyledger is configured with a different
// one. The signature, issuer and expiry are fine; the audience is not.
func TestOIDCWrongAudience(t *testing.T) {
	// The provider accepts partyledger's requests as if they came from
	// its own client, so the token it issues names that client.
	asItsOwnClient := func(m *mockoidc.MockOIDC) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err == nil {
					for _, f := range []url.Values{r.Form, r.PostForm} {
						if f.Get("client_id") != "" {
							f.Set("client_id", m.ClientID)
						}
					}
				}
				next.ServeHTTP(w, r)
			})
		}
	}
	ts, _ := MustRunServeOIDC(t, func(*mockoidc.MockOIDC) string { return "partyledger-elsewhere" }, true, asItsOwnClient)
	c := consoleClient(t)
	cb := oidcStart(t, c, ts.URL, "", person("jane@example.com", "isms-admins"))
	mustRefused(t, ts, c, cb.String(), http.StatusBadRequest, "did not verify")
	if !strings.Contains(ts.Logs.String(), "expected audience") {
		t.Fatalf("the token was refused for another reason than its audience; logs:\n%s", ts.Logs.String())
	}
}

// TestOIDCTokenLoginOff: with --console-token-login=false the sign-in page
// offers only the provider, and a posted token is refused.
func TestOIDCTokenLoginOff(t *testing.T) {
	ts, _ := MustRunServeOIDC(t, nil, false, nil)
	c := consoleClient(t)
	resp, body := consoleDo(t, c, "GET", ts.URL+"/login", nil)
	if resp.StatusCode != 200 || strings.Contains(body, `name="token"`) || !strings.Contains(body, `href="/login/oidc"`) {
		t.Fatalf("GET /login: %d; want the provider's button only:\n%s", resp.StatusCode, body)
	}
	resp, _ = consoleDo(t, c, "POST", ts.URL+"/login", url.Values{"token": {ts.Token}}, "Origin", ts.URL, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("POST /login with token login off: %d cookies %v, want 403 and none", resp.StatusCode, resp.Cookies())
	}
	// The API token still works for machines.
	mustStatus(t, ts.do(t, "GET", "/api/v1/register", nil, nil), 200)
}
