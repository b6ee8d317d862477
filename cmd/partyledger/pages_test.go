package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// pageOf is one page of a paged list: the array under its usual name plus
// next.
type pageOf struct {
	Parties []party      `json:"parties"`
	Items   []changeItem `json:"items"`
	Until   struct {
		Position int64 `json:"position"`
	} `json:"until"`
	Next string `json:"next"`
}

// walk follows next links from path and returns every page. It fails the
// test on a non-200 page or a next that is not a relative URL of the same
// endpoint.
func walk(t *testing.T, s *testServer, path string) []pageOf {
	t.Helper()
	var pages []pageOf
	for path != "" && len(pages) < 10_000 {
		var pg pageOf
		mustStatus(t, s.do(t, "GET", path, nil, &pg), http.StatusOK)
		pages = append(pages, pg)
		if pg.Next != "" {
			u, err := url.Parse(pg.Next)
			if err != nil || u.IsAbs() || u.Path != strings.SplitN(path, "?", 2)[0] {
				t.Fatalf("next %q of %s is not a relative link to the same list", pg.Next, path)
			}
		}
		path = pg.Next
	}
	return pages
}

// TestPageWalksWhileWriting walks /parties, /register and /changes page by
// page while another client keeps writing, and checks that every item is
// seen exactly once: none lost, none repeated.
func TestPageWalksWhileWriting(t *testing.T) {
	s := MustRunServe(t, "", func(c *serveConfig) { c.rateLimit = 0 })
	const seeded = 40
	seed := map[string]bool{}
	for i := range seeded {
		var p party
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Party %03d", i),
			"category": "customer", "scope": []string{"internal", "external"}[i%2]}, &p), http.StatusCreated)
		seed[p.ID] = true
		if i%3 == 0 {
			mustStatus(t, s.do(t, "POST", "/api/v1/parties/"+p.ID+"/requirements", map[string]any{
				"kind": "requirement", "title": "R" + p.ID}, nil), http.StatusCreated)
		}
	}

	// The writer adds parties (with names sorting among the seeded ones)
	// and revises seeded ones (influence: not a sort key) until told to stop.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		ids := make([]string, 0, len(seed))
		for id := range seed {
			ids = append(ids, id)
		}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var body []byte
			path := "/api/v1/parties"
			method := "POST"
			if i%2 == 0 {
				body, _ = json.Marshal(map[string]any{"name": fmt.Sprintf("Party %03d new %d", i%seeded, i),
					"category": "supplier", "scope": "external"})
			} else {
				method, path = "PATCH", "/api/v1/parties/"+ids[i%len(ids)]
				body, _ = json.Marshal(map[string]any{"influence": 1 + i%5, "reason": "walk"})
			}
			req, _ := http.NewRequest(method, s.URL+path, bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("write: %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				t.Errorf("write %s %s: %d", method, path, resp.StatusCode)
				return
			}
			writes.Add(1)
		}
	}()

	for _, list := range []string{"/api/v1/parties?limit=3", "/api/v1/register?limit=4&scope=", "/api/v1/parties?limit=7&status=all"} {
		list = strings.TrimSuffix(list, "&scope=")
		seen := map[string]int{}
		for _, pg := range walk(t, s, list) {
			if len(pg.Parties) == 0 && pg.Next != "" {
				t.Fatalf("%s: an empty page with a next link", list)
			}
			for _, p := range pg.Parties {
				seen[p.ID]++
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s: party %s seen %d times", list, id, n)
			}
		}
		for id := range seed {
			if seen[id] != 1 {
				t.Errorf("%s: seeded party %s seen %d times", list, id, seen[id])
			}
		}
	}

	// The feed: every position once, in order, and the same set as one
	// unpaged read of the window the first page pinned.
	pages := walk(t, s, "/api/v1/changes?since=beginning&limit=5")
	until := pages[0].Until.Position
	var got []int64
	for _, pg := range pages {
		for _, it := range pg.Items {
			if n := len(got); n > 0 && it.Position <= got[n-1] {
				t.Fatalf("feed walk: position %d after %d", it.Position, got[n-1])
			}
			got = append(got, it.Position)
		}
	}
	close(stop)
	wg.Wait()
	if writes.Load() < 5 {
		t.Fatalf("only %d writes went on during the walks", writes.Load())
	}
	var want []int64
	for _, pg := range walk(t, s, fmt.Sprintf("/api/v1/changes?since=beginning&until=position:%d&limit=500", until)) {
		for _, it := range pg.Items {
			want = append(want, it.Position)
		}
	}
	if len(want) < seeded || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("feed walk saw %d items, one read of the window %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}

	// The net view pages by group: every party once over the walk.
	seen := map[string]int{}
	for _, pg := range walk(t, s, fmt.Sprintf("/api/v1/changes?since=beginning&until=position:%d&view=net&limit=6", until)) {
		for _, it := range pg.Items {
			if it.Requirement == nil {
				seen[it.Party.ID]++
			}
		}
	}
	for id := range seed {
		if seen[id] != 1 {
			t.Errorf("net walk: party %s seen %d times", id, seen[id])
		}
	}
}

// TestPageParameters checks the paging contract: limit bounds, bad
// cursors, next absent on the last page, and the CSV register whole.
func TestPageParameters(t *testing.T) {
	s := MustRunServe(t, "", func(c *serveConfig) { c.rateLimit = 0 })
	for i := range 3 {
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("P%d", i),
			"category": "customer", "scope": "external"}, nil), http.StatusCreated)
	}
	for _, path := range []string{"/api/v1/parties?limit=0", "/api/v1/parties?limit=501", "/api/v1/register?limit=x",
		"/api/v1/changes?limit=-1", "/api/v1/parties?cursor=nope", "/api/v1/register?cursor=WyJhIl0",
		"/api/v1/changes?cursor=e30"} {
		var p problem
		mustStatus(t, s.do(t, "GET", path, nil, &p), http.StatusBadRequest)
		if p.Code != "invalid" || len(p.Errors) != 1 || (p.Errors[0].Field != "limit" && p.Errors[0].Field != "cursor") {
			t.Errorf("%s: problem %+v", path, p)
		}
	}
	var pg pageOf
	mustStatus(t, s.do(t, "GET", "/api/v1/parties", nil, &pg), http.StatusOK)
	if len(pg.Parties) != 3 || pg.Next != "" {
		t.Fatalf("one page of 3: %d parties, next %q", len(pg.Parties), pg.Next)
	}
	mustStatus(t, s.do(t, "GET", "/api/v1/register?limit=2", nil, &pg), http.StatusOK)
	if len(pg.Parties) != 2 || pg.Next == "" {
		t.Fatalf("first page of 2: %d parties, next %q", len(pg.Parties), pg.Next)
	}
	// as_of pages the folded register the same way.
	got := 0
	for _, p := range walk(t, s, "/api/v1/register?limit=1&as_of=position:6") { // each create appends the party and its name claim
		got += len(p.Parties)
	}
	if got != 3 {
		t.Fatalf("as_of walk saw %d parties, want 3", got)
	}
	resp := s.do(t, "GET", "/api/v1/register?format=csv&limit=1", nil, nil)
	mustStatus(t, resp, http.StatusOK)
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if n := strings.Count(buf.String(), "\n"); n != 4 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV register is the whole register: %d lines, %q", n, resp.Header.Get("Content-Type"))
	}
}
