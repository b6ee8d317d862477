package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// The crash suite: the real binary, killed with SIGKILL at random moments,
// must never lose or duplicate an acknowledged write, never leave a broken
// database or hash chain, and always resume to the state a clean rebuild
// gives. It runs crashIterations kills per test (10 by default; the long run
// is -crash.iterations=200) and is skipped under -short.
//
//	go test ./cmd/partyledger -run Crash -v
//	go test ./cmd/partyledger -run Crash -crash.iterations=200 -timeout 60m

var crashIterations = flag.Int("crash.iterations", 10, "kill -9 iterations of each crash test")

// crashWriters is how many clients write concurrently while serve is killed.
const crashWriters = 8

// ack is one write the server acknowledged with 2xx: the event it reported
// (stream and version) and the unique value the write carried.
type ack struct {
	stream  string
	version int64
	kind    string // party.identified, party.revised or requirement.identified
	marker  string // the party name, description or requirement title written
}

// TestCrashServe kills serve while eight clients write, restarts it, and
// checks after every kill that every acknowledged write is in the log
// exactly once, that the log passes integrity_check and the hash chain, and
// that the read model the dead process left, caught up, equals a clean
// rebuild. On each restart it also checks over HTTP that the server shows
// every acknowledged party at its acknowledged version or later.
func TestCrashServe(t *testing.T) {
	if testing.Short() {
		t.Skip("crash suite: skipped with -short")
	}
	bin := MustBuildBinary(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	var (
		dir, db, token string
		acks           []ack
		parties        map[string]int64 // party id -> highest acknowledged version
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for it := range *crashIterations {
		if it%25 == 0 { // a fresh database now and then keeps the long run's checks short
			dir = t.TempDir()
			db = filepath.Join(dir, "partyledger.db")
			token, acks, parties = "", nil, map[string]int64{}
		}
		p := MustStartServe(t, bin, db)
		if p.Token != "" {
			token = p.Token
		}
		if token == "" {
			t.Fatalf("iteration %d: no admin token", it)
		}
		p.WaitReady(t, time.Minute)
		mustShowParties(t, client, p.URL, token, parties)

		// Writers run until their requests fail because the server died.
		var mu sync.Mutex
		var wg sync.WaitGroup
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for w := range crashWriters {
			wg.Go(func() {
				crashWriter(ctx, client, p.URL, token, it, w, func(a ack) {
					mu.Lock()
					defer mu.Unlock()
					acks = append(acks, a)
					if id, ok := strings.CutPrefix(a.stream, domain.PartyStreamPrefix); ok {
						parties[id] = max(parties[id], a.version)
					}
				})
			})
		}
		time.Sleep(time.Duration(50+rng.IntN(600)) * time.Millisecond)
		p.Kill()
		wg.Wait()
		cancel()

		img := t.TempDir()
		store, evs := mustOpenLog(t, copyCrashImage(t, db, img))
		mustHaveAcks(t, evs, acks)
		rm := copyCrashImage(t, strings.TrimSuffix(db, ".db")+".readmodel.db", img)
		mustIntegrityOK(t, rm)
		m := mustOpenReadModel(t, rm, store)
		cp, _ := m.Checkpoint(context.Background())
		mustCatchUp(t, m, int64(len(evs)))
		mustEqualViews(t, "caught-up read model", mustCleanRebuild(t, img, store), mustViews(t, m))
		store.Close()
		t.Logf("iteration %d: %d events, %d acknowledged writes, read model was at %d", it, len(evs), len(acks), cp)
	}
	// A last start shows every acknowledged write, then stops gracefully.
	p := MustStartServe(t, bin, db)
	p.WaitReady(t, time.Minute)
	mustShowParties(t, client, p.URL, token, parties)
	p.Stop(t)
	if !p.state.Success() {
		t.Errorf("serve after SIGTERM: %v\n%s", p.state, p.logs)
	}
}

// crashWriter creates parties, adds requirements and revises its parties
// until a request fails, reporting every 2xx answer to acked.
func crashWriter(ctx context.Context, c *http.Client, base, token string, it, w int, acked func(ack)) {
	var own []string
	for n := 0; ctx.Err() == nil; n++ {
		tag := fmt.Sprintf("i%d w%d n%d", it, w, n)
		var resp struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		}
		switch {
		case len(own) == 0 || n%4 == 0:
			name := "Crash party " + tag
			st, err := call(ctx, c, base, token, "POST", "/api/v1/parties", map[string]any{"name": name,
				"category": "supplier", "scope": "external", "owner": "CISO"}, &resp)
			if err != nil || st != http.StatusCreated {
				return
			}
			own = append(own, resp.ID)
			acked(ack{stream: domain.PartyStreamPrefix + resp.ID, version: resp.Version, kind: domain.EventPartyIdentified, marker: name})
		case n%4 == 1:
			id := own[n%len(own)]
			title := "Crash requirement " + tag
			var etag string
			st, err := callETag(ctx, c, base, token, "POST", "/api/v1/parties/"+id+"/requirements", map[string]any{
				"kind": "requirement", "title": title, "source_type": "contract", "priority": "high"}, &etag)
			v, perr := strconv.ParseInt(strings.Trim(etag, `"`), 10, 64)
			if err != nil || st != http.StatusCreated || perr != nil {
				return
			}
			acked(ack{stream: domain.PartyStreamPrefix + id, version: v, kind: domain.EventRequirementIdentified, marker: title})
		default:
			id := own[n%len(own)]
			desc := "Crash description " + tag
			st, err := call(ctx, c, base, token, "PATCH", "/api/v1/parties/"+id, map[string]any{
				"description": desc, "reason": "crash test"}, &resp)
			if err != nil || st != http.StatusOK {
				return
			}
			acked(ack{stream: domain.PartyStreamPrefix + id, version: resp.Version, kind: domain.EventPartyRevised, marker: desc})
		}
	}
}

// callETag is call for answers whose version is only in the ETag header.
func callETag(ctx context.Context, c *http.Client, base, token, method, path string, body any, etag *string) (int, error) {
	var hdr http.Header
	st, err := callHeader(ctx, c, base, token, method, path, body, &hdr)
	if hdr != nil {
		*etag = hdr.Get("ETag")
	}
	return st, err
}

// mustHaveAcks checks that every acknowledged write is in the log exactly
// once: its marker appears in exactly one event of its kind, and that event
// is the acknowledged version of the acknowledged stream.
func mustHaveAcks(t *testing.T, evs []eventstore.Event, acks []ack) {
	t.Helper()
	type at struct {
		stream  string
		version int64
	}
	found := map[string][]at{}
	for _, ev := range evs {
		if m := markerOf(t, ev); m != "" {
			found[ev.Type+"\x00"+m] = append(found[ev.Type+"\x00"+m], at{ev.Stream, ev.Version})
		}
	}
	for _, a := range acks {
		got := found[a.kind+"\x00"+a.marker]
		switch {
		case len(got) == 0:
			t.Fatalf("acknowledged %s %q (%s v%d) is not in the log", a.kind, a.marker, a.stream, a.version)
		case len(got) > 1:
			t.Fatalf("acknowledged %s %q is in the log %d times: %v", a.kind, a.marker, len(got), got)
		case got[0] != at{a.stream, a.version}:
			t.Fatalf("acknowledged %s %q as %s v%d, but the log has it as %s v%d", a.kind, a.marker,
				a.stream, a.version, got[0].stream, got[0].version)
		}
	}
}

// markerOf returns the value a crash writer put into the event: the name of
// an identified party, the title of a requirement, or the new description
// of a revision.
func markerOf(t *testing.T, ev eventstore.Event) string {
	var d struct {
		Name    string `json:"name"`
		Title   string `json:"title"`
		Changes map[string]struct {
			To any `json:"to"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		t.Fatalf("event %d: %v", ev.Position, err)
	}
	switch ev.Type {
	case domain.EventPartyIdentified:
		return d.Name
	case domain.EventRequirementIdentified:
		return d.Title
	case domain.EventPartyRevised:
		s, _ := d.Changes["description"].To.(string)
		return s
	}
	return ""
}

// mustShowParties checks over HTTP that the server lists every party in
// want at the given version or a later one.
func mustShowParties(t *testing.T, c *http.Client, base, token string, want map[string]int64) {
	t.Helper()
	got := map[string]int64{}
	// The list is paged: follow next to the last page.
	for path := "/api/v1/parties?status=all&limit=500"; path != ""; {
		var list struct {
			Parties []struct {
				ID      string `json:"id"`
				Version int64  `json:"version"`
			} `json:"parties"`
			Next string `json:"next"`
		}
		st, err := call(context.Background(), c, base, token, "GET", path, nil, &list)
		if err != nil || st != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, st, err)
		}
		for _, p := range list.Parties {
			got[p.ID] = p.Version
		}
		path = list.Next
	}
	for id, v := range want {
		if got[id] < v {
			t.Fatalf("after restart party %s is at version %d, but version %d was acknowledged", id, got[id], v)
		}
	}
}
