package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/webhooks"
)

// TestWebhookSurvivesKill9 kills serve (SIGKILL) while it is delivering: the
// first event's request is in flight and four more committed events wait
// behind it. After a restart on the same files every event reaches the
// receiver, in order, with valid signatures; the one in flight at the kill
// comes again with the same webhook-id.
func TestWebhookSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	var hold atomic.Bool
	hold.Store(true)
	release := make(chan struct{})
	var mu sync.Mutex
	type got struct {
		id, status string
		hook       receivedHook
	}
	var hits []got
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := receivedHook{header: r.Header.Clone(), body: body}
		held := hold.Load()
		mu.Lock()
		hits = append(hits, got{id: r.Header.Get(webhooks.HeaderID), status: map[bool]string{true: "held", false: "ok"}[held], hook: h})
		mu.Unlock()
		if held {
			select { // the sender dies meanwhile
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	defer close(release)
	snapshot := func() []got {
		mu.Lock()
		defer mu.Unlock()
		return append([]got(nil), hits...)
	}
	waitFor := func(what string, ok func([]got) bool) []got {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			hs := snapshot()
			if ok(hs) {
				return hs
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiting for %s: %d requests", what, len(hs))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	bin := MustBuildBinary(t)
	db := filepath.Join(t.TempDir(), "partyledger.db")
	flags := []string{"--webhook-allow", "127.0.0.1/32"}
	p := MustStartServe(t, bin, db, flags...)
	p.WaitReady(t, time.Minute)
	token := p.Token
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	var sub struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	if st, err := call(ctx, client, p.URL, token, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL}, &sub); err != nil || st != http.StatusCreated {
		t.Fatalf("create subscription: %d %v", st, err)
	}
	for _, name := range []string{"A", "B", "C", "D", "E"} {
		if st, err := call(ctx, client, p.URL, token, "POST", "/api/v1/parties", map[string]any{"name": name, "category": "partner", "scope": "external"}, nil); err != nil || st != http.StatusCreated {
			t.Fatalf("create party %s: %d %v", name, st, err)
		}
	}
	waitFor("the first delivery to be in flight", func(hs []got) bool { return len(hs) == 1 })
	p.Kill()
	hold.Store(false)

	p = MustStartServe(t, bin, db, flags...)
	hs := waitFor("five deliveries after the restart", func(hs []got) bool {
		n := 0
		for _, h := range hs {
			if h.status == "ok" {
				n++
			}
		}
		return n >= 5
	})
	p.Stop(t)

	var names []string
	for i, h := range hs {
		if err := webhooks.Verify(sub.Secret, h.hook.header, h.hook.body, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		if h.status == "ok" {
			var pl webhooks.Payload
			if err := json.Unmarshal(h.hook.body, &pl); err != nil || pl.Data.Change == nil {
				t.Fatalf("request %d: %v %s", i, err, h.hook.body)
			}
			names = append(names, pl.Data.Change.Party.Name)
		}
	}
	if got := strings.Join(names, " "); got != "A B C D E" {
		t.Fatalf("delivered after the restart: %s, want A B C D E in order", got)
	}
	if hs[0].status != "held" || hs[1].id != hs[0].id {
		t.Fatalf("the event in flight at the kill was not sent again with its webhook-id: %s then %s", hs[0].id, hs[1].id)
	}
}
