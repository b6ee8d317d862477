package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/httpapi/openapitest"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/handlers/webhooks"
	"github.com/partyledger/partyledger/projections"
)

// memLog is an in-memory event log whose appends are published on a
// change pipeline at once, as the projections runner would after its commit.
type memLog struct {
	mu     sync.Mutex
	events []eventstore.Event
	p      *pipeline.Pipeline
}

func newMemLog() *memLog {
	l := &memLog{}
	l.p = pipeline.New(l, memReads{l}, 0)
	return l
}

func (l *memLog) add(typ string) {
	l.mu.Lock()
	pos := int64(len(l.events) + 1)
	ev := eventstore.Event{ID: "ev-" + strconv.FormatInt(pos, 10), Position: pos, Type: typ}
	l.events = append(l.events, ev)
	l.mu.Unlock()
	l.p.Publish(context.Background(), []eventstore.Event{ev})
}

func (l *memLog) ReadAll(_ context.Context, after int64, limit int) ([]eventstore.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if after >= int64(len(l.events)) {
		return nil, nil
	}
	evs := l.events[after:]
	return append([]eventstore.Event(nil), evs[:min(limit, len(evs))]...), nil
}

// memReads answers Changes with one item per event of the log.
type memReads struct{ log *memLog }

func (r memReads) Changes(_ context.Context, w projections.Window) ([]projections.ChangeItem, error) {
	r.log.mu.Lock()
	defer r.log.mu.Unlock()
	var out []projections.ChangeItem
	for _, ev := range r.log.events {
		if ev.Position > w.After && (w.Until == 0 || ev.Position <= w.Until) {
			out = append(out, projections.ChangeItem{Position: ev.Position, EventID: ev.ID, Type: ev.Type,
				Party: projections.PartyRef{ID: "p", Name: "Customers", Category: "customer"}, Change: projections.ChangePartyRevised})
		}
	}
	return out, nil
}

// viewerToken authenticates "plt_viewer" as a viewer.
type viewerToken struct{ Tokens }

func (viewerToken) Authenticate(_ context.Context, s string) (auth.Token, error) {
	if s == "plt_viewer" {
		return auth.Token{Name: "v", Role: auth.RoleViewer}, nil
	}
	return auth.Token{}, auth.ErrUnauthenticated
}

// TestStreamOutlivesServerTimeouts runs the stream on a server whose read
// and write timeouts are far shorter than the stream: items sent after them
// still arrive, and a reconnection with Last-Event-ID resumes without gaps.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	log := newMemLog()
	feed := &webhooks.Feed{Changes: log.p}
	s := &Server{Tokens: viewerToken{}, Stream: feed}
	srv := &http.Server{Handler: s.Handler(), ReadTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	defer feed.Stop()
	base := "http://" + ln.Addr().String() + "/api/v1/stream"
	client := openapitest.MustLoad(t, OpenAPI()).Client(t) // every exchange checked against openapi.json

	open := func(query, lastID string) (*http.Response, *bufio.Scanner) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+query, nil)
		req.Header.Set("Authorization", "Bearer plt_viewer")
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return resp, bufio.NewScanner(resp.Body)
	}
	next := func(sc *bufio.Scanner) (id string, item projections.ChangeItem) {
		t.Helper()
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = line[4:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &item); err != nil {
					t.Fatal(err)
				}
			case line == "" && id != "":
				return id, item
			}
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return
	}

	log.add("party.identified") // before the stream: not sent
	resp, sc := open("", "")
	go func() {
		for _, typ := range []string{"party.revised", "party.retired", "party.revised"} {
			time.Sleep(250 * time.Millisecond) // beyond both server timeouts
			log.add(typ)
		}
	}()
	for _, want := range []string{"2", "3", "4"} {
		if id, it := next(sc); id != want || strconv.FormatInt(it.Position, 10) != want {
			t.Fatalf("got id %s item %d, want %s", id, it.Position, want)
		}
	}
	resp.Body.Close()

	// Disconnected: more happens; the client resumes from its last id,
	// with a filter.
	log.add("party.revised")
	log.add("party.retired")
	resp, sc = open("?types=party.revised", "4")
	defer resp.Body.Close()
	log.add("party.revised")
	for _, want := range []string{"5", "7"} {
		if id, _ := next(sc); id != want {
			t.Fatalf("after resuming: id %s, want %s", id, want)
		}
	}

	// Bad parameters are refused before the stream starts.
	for _, q := range []string{"?types=nope", "?after=-1", "?categories=aliens"} {
		req, _ := http.NewRequest("GET", base+q, nil)
		req.Header.Set("Authorization", "Bearer plt_viewer")
		r, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 400 {
			t.Errorf("%s: status %d, want 400", q, r.StatusCode)
		}
	}
}

// Issue 18, finding 6: a full server answers 503 "streams_full" with
// Retry-After, not "store unavailable".
func TestStreamFullServerSaysSo(t *testing.T) {
	log := newMemLog()
	feed := &webhooks.Feed{Changes: log.p, MaxWatches: 1}
	s := &Server{Tokens: viewerToken{}, Stream: feed}
	srv := &http.Server{Handler: s.Handler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	defer feed.Stop()
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/api/v1/stream", nil)
		req.Header.Set("Authorization", "Bearer plt_viewer")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := get()
	defer first.Body.Close()
	if first.StatusCode != 200 {
		t.Fatalf("first stream: %d", first.StatusCode)
	}
	second := get()
	defer second.Body.Close()
	var p Problem
	_ = json.NewDecoder(second.Body).Decode(&p)
	if second.StatusCode != 503 || p.Code != codeStreamsFull || second.Header.Get("Retry-After") == "" || !strings.Contains(p.Detail, "stream") {
		t.Fatalf("second stream: %d %+v Retry-After %q", second.StatusCode, p, second.Header.Get("Retry-After"))
	}
}
