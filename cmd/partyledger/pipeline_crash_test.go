package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/handlers/webhooks"
)

// sseItem is one event of GET /api/v1/stream as a consumer reads it.
type sseItem struct {
	id   int64
	name string
}

// readSSE reads the stream at base with Last-Event-ID after until the
// connection ends, sending each item to out. It returns the last id read.
func readSSE(ctx context.Context, base, token string, after int64, out func(sseItem)) int64 {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return after
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return after
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var id int64
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
		case strings.HasPrefix(line, "data: "):
			var it struct {
				Party struct {
					Name string `json:"name"`
				} `json:"party"`
			}
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &it) == nil {
				out(sseItem{id: id, name: it.Party.Name})
				after = id
			}
		}
	}
	return after
}

// TestPipelineSurvivesKill9 kills serve (SIGKILL) while parties are being
// written and the change pipeline's consumers are following: a live stream
// (SSE, resuming with Last-Event-ID), a webhook subscription and the bus
// forwarder. After a restart on the same files every committed party reaches
// the stream exactly once and in position order, every one reaches the
// webhook receiver (a repeat only with the same webhook-id), and the bus
// checkpoint, kept in the event log's file, reaches the head of the log.
func TestPipelineSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("process test: skipped with -short")
	}
	var mu sync.Mutex
	hookIDs := map[string]string{} // webhook-id -> party name
	var hookOrder []string
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var pl webhooks.Payload
		if err := json.Unmarshal(body, &pl); err == nil && pl.Data.Change != nil {
			mu.Lock()
			id := r.Header.Get(webhooks.HeaderID)
			if prev, ok := hookIDs[id]; ok && prev != pl.Data.Change.Party.Name {
				t.Errorf("webhook-id %s sent for %s and for %s", id, prev, pl.Data.Change.Party.Name)
			}
			if _, ok := hookIDs[id]; !ok {
				hookOrder = append(hookOrder, pl.Data.Change.Party.Name)
			}
			hookIDs[id] = pl.Data.Change.Party.Name
			mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()

	bin := MustBuildBinary(t)
	db := filepath.Join(t.TempDir(), "partyledger.db")
	flags := []string{"--webhook-allow", "127.0.0.1/32"}
	p := MustStartServe(t, bin, db, flags...)
	p.WaitReady(t, time.Minute)
	token := p.Token
	ctx := context.Background()
	client := &http.Client{Timeout: 10 * time.Second}
	if st, err := call(ctx, client, p.URL, token, "POST", "/api/v1/subscriptions", map[string]any{"url": rc.URL}, nil); err != nil || st != http.StatusCreated {
		t.Fatalf("create subscription: %d %v", st, err)
	}

	var smu sync.Mutex
	var seen []sseItem
	collect := func(it sseItem) { smu.Lock(); seen = append(seen, it); smu.Unlock() }
	sseCount := func() int { smu.Lock(); defer smu.Unlock(); return len(seen) }

	// First life: a stream from the start, writers, and a kill mid-way.
	lastID := make(chan int64, 1)
	go func() { lastID <- readSSE(ctx, p.URL, token, 0, collect) }()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				// Errors are expected once the process is killed.
				_, _ = call(ctx, client, p.URL, token, "POST", "/api/v1/parties",
					map[string]any{"name": fmt.Sprintf("W%d-%02d", w, i), "category": "partner", "scope": "external"}, nil)
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for sseCount() < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	p.Kill()
	wg.Wait()
	after := <-lastID

	// Second life: the stream resumes where it was; more writes.
	p = MustStartServe(t, bin, db, flags...)
	p.WaitReady(t, time.Minute)
	sctx, stopStream := context.WithCancel(ctx)
	streamDone := make(chan struct{})
	go func() { defer close(streamDone); readSSE(sctx, p.URL, token, after, collect) }()
	for i := range 10 {
		if st, err := call(ctx, client, p.URL, token, "POST", "/api/v1/parties",
			map[string]any{"name": fmt.Sprintf("R-%02d", i), "category": "partner", "scope": "external"}, nil); err != nil || st != http.StatusCreated {
			t.Fatalf("create party after the restart: %d %v", st, err)
		}
	}
	var parties struct {
		Parties []struct {
			Name string `json:"name"`
		} `json:"parties"`
	}
	if st, err := call(ctx, client, p.URL, token, "GET", "/api/v1/parties?limit=500", nil, &parties); err != nil || st != http.StatusOK {
		t.Fatalf("list parties: %d %v", st, err)
	}
	want := map[string]bool{}
	for _, pa := range parties.Parties {
		want[pa.Name] = true
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		hooks := len(hookOrder)
		mu.Unlock()
		busDone := busCheckpoint(t, db) >= int64(eventCount(t, db))
		if (sseCount() >= len(want) && hooks >= len(want) && busDone) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // room for a duplicate to show
	stopStream()
	<-streamDone
	head := int64(eventCount(t, db))
	busAt := busCheckpoint(t, db)
	p.Stop(t)

	smu.Lock()
	defer smu.Unlock()
	count := map[string]int{}
	var prev int64
	for i, it := range seen {
		count[it.name]++
		if it.id <= prev {
			t.Errorf("stream item %d: id %d after %d: repeated or out of order", i, it.id, prev)
		}
		prev = it.id
	}
	for name := range want {
		if count[name] != 1 {
			t.Errorf("party %s reached the stream %d times, want exactly once", name, count[name])
		}
	}
	for name := range count {
		if !want[name] {
			t.Errorf("the stream showed %s, which the register does not have", name)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	got := map[string]bool{}
	for _, name := range hookOrder {
		got[name] = true
	}
	for name := range want {
		if !got[name] {
			t.Errorf("party %s never reached the webhook receiver", name)
		}
	}
	if len(hookOrder) != len(want) {
		t.Errorf("%d distinct webhook-ids for %d parties", len(hookOrder), len(want))
	}
	if busAt != head {
		t.Errorf("bus checkpoint (in the event log's file) at %d after the restart, want the head %d", busAt, head)
	}
	t.Logf("%d parties; stream resumed after %d; %d stream items, %d webhooks; bus at %d of %d", len(want), after, len(seen), len(hookOrder), busAt, head)
}
