package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 12 follow-up: failed sign-ins on the console are limited per
// client like the API's failed authentications, in the same budget, behind
// a trusted proxy by the forwarded client, and a valid token is never
// refused.
func TestConsoleFailedLoginLimited(t *testing.T) {
	s := MustRunServe(t, "", func(c *serveConfig) {
		c.rateLimit, c.authFails = 0, 3
		c.trustedProxies = []string{"127.0.0.0/8"}
	})
	c := consoleClient(t)
	login := func(token, client string) (*http.Response, string) {
		return consoleDo(t, c, "POST", s.URL+"/login", url.Values{"token": {token}}, "X-Forwarded-For", client)
	}
	for i := range 3 {
		if resp, _ := login("plt_wrong", "203.0.113.5"); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("bad sign-in %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	resp, body := login("plt_wrong", "203.0.113.5")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("fourth bad sign-in: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(body, "Too many failed sign-ins") || !strings.Contains(body, `name="token"`) {
		t.Fatal("the 429 page does not say why or lost the form")
	}
	if len(resp.Cookies()) != 0 {
		t.Fatal("a refused sign-in set a cookie")
	}
	// The API shares the budget: the same client's bad bearer token is 429.
	mustStatus(t, s.as("plt_wrong").do(t, "GET", "/api/v1/parties", nil, nil, "X-Forwarded-For", "203.0.113.5"), http.StatusTooManyRequests)
	// Another client behind the same proxy is not affected.
	if resp, _ := login("plt_wrong", "203.0.113.6"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("other client: %d, want 401", resp.StatusCode)
	}
	// A spoofed hop in front of the real client does not escape the limit.
	if resp, _ := login("plt_wrong", "198.51.100.1, 203.0.113.5"); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("spoofed hop: %d, want 429", resp.StatusCode)
	}
	// A valid token from the locked-out client still signs in.
	resp, body = login(s.Token, "203.0.113.5")
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("valid token from a limited client: %d, want 303 and a session; %s", resp.StatusCode, body)
	}
	// The denials are in the security log, by the forwarded client.
	var n int
	sec := openDBForTest(t, strings.TrimSuffix(s.DB, ".db")+".security.db")
	if err := sec.QueryRow(`SELECT COALESCE(SUM(count), 0) FROM access_log WHERE client = '203.0.113.5' AND path = '/login'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Fatalf("security log: %d denied sign-ins from 203.0.113.5, want 5", n)
	}
}
