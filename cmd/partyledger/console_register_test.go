package main

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Issue 12 follow-up: the register page pages in SQL with keyset cursors:
// a walk of the next links sees every party once, in register order
// (internal first, then by name), with the count and page numbers.
func TestConsoleRegisterPagesInSQL(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	const n = 120
	for i := range n {
		scope := "external"
		if i%4 == 0 {
			scope = "internal"
		}
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Party %03d", i),
			"category": "customer", "scope": scope}, nil), http.StatusCreated)
	}
	c := consoleClient(t)
	MustSignIn(t, c, s.URL, s.Token)
	row := regexp.MustCompile(`<td><a href="/parties/[^"]+">(Party \d+)</a></td>\s*<td>[^<]*</td><td>([^<]*)</td>`)
	next := regexp.MustCompile(`<a href="/register(\?[^"]*)" rel="next">`)
	var names, scopes []string
	path := "/register"
	for pageNo := 1; path != ""; pageNo++ {
		resp, body := consoleDo(t, c, "GET", s.URL+path, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if want := fmt.Sprintf("%d parties · page %d of 3", n, pageNo); !strings.Contains(body, want) {
			t.Fatalf("%s lacks %q", path, want)
		}
		rows := row.FindAllStringSubmatch(body, -1)
		if len(rows) == 0 || len(rows) > 50 {
			t.Fatalf("%s: %d rows", path, len(rows))
		}
		for _, r := range rows {
			names, scopes = append(names, r[1]), append(scopes, r[2])
		}
		path = ""
		if m := next.FindStringSubmatch(body); m != nil {
			path = "/register" + html.UnescapeString(m[1])
			if !strings.Contains(path, "cursor=") {
				t.Fatalf("next link %q has no cursor", path)
			}
		}
		if pageNo > 3 {
			t.Fatal("more than 3 pages")
		}
	}
	if len(names) != n {
		t.Fatalf("the walk saw %d parties, want %d", len(names), n)
	}
	seen := map[string]bool{}
	for i, name := range names {
		if seen[name] {
			t.Fatalf("%s seen twice", name)
		}
		seen[name] = true
		if i > 0 && scopes[i-1] != "Internal" && scopes[i] == "Internal" {
			t.Fatalf("internal %s after an external party", name)
		}
	}
	// The same order as the API's register.
	var reg struct {
		Parties []struct {
			Name string `json:"name"`
		} `json:"parties"`
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/register?limit=500", nil, &reg), http.StatusOK)
	for i, p := range reg.Parties {
		if i >= len(names) || names[i] != p.Name {
			t.Fatalf("party %d is %q on the page, %q in the API's register", i, names[min(i, len(names)-1)], p.Name)
		}
	}
	// A forged cursor is bad input, not a crash.
	if resp, _ := consoleDo(t, c, "GET", s.URL+"/register?cursor=xx", nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("bad cursor: %d, want 422", resp.StatusCode)
	}
}

// The /changes page pages a long window as the API does (100 a page, the
// end pinned by the first page): a walk of the next links shows every
// change once, and a change made during the walk does not join it.
func TestConsoleChangesPaged(t *testing.T) {
	s := MustRunServe(t, "", noLimits)
	const n = 130
	for i := range n {
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Party %03d", i),
			"category": "customer", "scope": "external"}, nil), http.StatusCreated)
	}
	c := consoleClient(t)
	MustSignIn(t, c, s.URL, s.Token)
	item := regexp.MustCompile(`<h2 class="h3"><a href="/parties/[^"]+">(Party \d+)</a>`)
	next := regexp.MustCompile(`<a href="/changes(\?[^"]*)" rel="next">`)
	for _, view := range []string{"detailed", "net"} {
		seen := map[string]bool{}
		path := "/changes?since=beginning&view=" + view
		for pages := 0; path != ""; pages++ {
			if pages > 2 {
				t.Fatalf("%s: more than 2 pages", view)
			}
			resp, body := consoleDo(t, c, "GET", s.URL+path, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
			items := item.FindAllStringSubmatch(body, -1)
			if len(items) > 100 {
				t.Fatalf("%s: %d items on a page", path, len(items))
			}
			for _, it := range items {
				if seen[it[1]] {
					t.Fatalf("%s: %s twice", view, it[1])
				}
				seen[it[1]] = true
			}
			if pages == 0 { // a change during the walk stays out of it
				mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Late party " + view,
					"category": "customer", "scope": "external"}, nil), http.StatusCreated)
			}
			path = ""
			if m := next.FindStringSubmatch(body); m != nil {
				path = "/changes" + html.UnescapeString(m[1])
			}
		}
		if len(seen) != n {
			t.Fatalf("%s: the walk saw %d changes, want %d", view, len(seen), n)
		}
	}
}
