package webhooks_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/handlers/webhooks"
	"github.com/partyledger/partyledger/projections"
)

// env is the real core on temporary SQLite files: event store, read model
// following it, command service, subscriptions and feed.
type env struct {
	dbPath string
	store  *sqlite.Store
	db     *sql.DB
	reads  *projections.ReadModel
	svc    *commands.Service
	subs   *webhooks.Subscriptions
	feed   *webhooks.Feed
	guard  *webhooks.Guard
}

// loopbackGuard permits 127.0.0.1 only, as the operator allowlist does in
// tests and on-premises setups.
func loopbackGuard() *webhooks.Guard {
	return &webhooks.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
}

// MustOpenEnv opens the core on the event log at dbPath (a new one when
// empty). Everything is closed at the end of the test. Inside a synctest
// bubble it must be called inside the bubble, so that its goroutines and
// channels belong to it.
func MustOpenEnv(tb testing.TB, dbPath string) *env {
	tb.Helper()
	if dbPath == "" {
		dbPath = filepath.Join(tb.TempDir(), "events.db")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, dbPath, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sqlite.OpenDB(dbPath)
	if err != nil {
		tb.Fatal(err)
	}
	rdb, err := sqlite.OpenDB(dbPath+".readmodel", sqlite.WithSynchronous(sqlite.SynchronousNormal))
	if err != nil {
		tb.Fatal(err)
	}
	var changes *pipeline.Pipeline
	reads, err := projections.Open(ctx, rdb, store, nil,
		projections.WithCommitHook(func(ctx context.Context, events []eventstore.Event) { changes.Publish(ctx, events) }))
	if err != nil {
		tb.Fatal(err)
	}
	changes = pipeline.New(store, reads, 0)
	cp, err := reads.Checkpoint(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	changes.Start(cp)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = reads.Run(rctx)
	}()
	guard := loopbackGuard()
	subs, err := webhooks.NewSubscriptions(ctx, db, guard, store)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{dbPath: dbPath, store: store, db: db, reads: reads, guard: guard,
		svc:  &commands.Service{Store: store, Reads: reads},
		subs: subs, feed: &webhooks.Feed{Changes: changes}}
	tb.Cleanup(func() {
		cancel()
		<-done
		rdb.Close()
		db.Close()
		store.Close()
	})
	return e
}

// newParty appends party.identified and returns the party id.
func (e *env) newParty(tb testing.TB, name, category string) domain.PartyID {
	tb.Helper()
	res, err := e.svc.IdentifyParty(context.Background(), domain.IdentifyParty{
		Meta: domain.Meta{Actor: "alice", Reason: "onboarding", Trigger: "contract_change"},
		Name: name, Category: category, Scope: "external", Owner: "Sales", Influence: 3, Interest: 3})
	if err != nil {
		tb.Fatal(err)
	}
	return domain.PartyID(res.Stream[len(domain.PartyStreamPrefix):])
}

// revise appends party.revised (influence to level) and returns its position.
func (e *env) revise(tb testing.TB, id domain.PartyID, level int, trigger string) int64 {
	tb.Helper()
	res, err := e.svc.ReviseParty(context.Background(), domain.ReviseParty{
		Meta:    domain.Meta{Actor: "bob", Reason: "reassessed " + strconv.Itoa(level), Trigger: trigger},
		PartyID: id, Influence: &level}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if res.Position == 0 {
		tb.Fatalf("revise %s to %d changed nothing", id, level)
	}
	return res.Position
}

// dispatcher returns a dispatcher over e whose client dials through the
// guard without keep-alives: an idle pooled connection would be a goroutine
// blocked on network I/O, which keeps a synctest bubble from ever idling.
func (e *env) dispatcher() *webhooks.Dispatcher {
	tr := e.guard.Transport()
	tr.DisableKeepAlives = true
	return &webhooks.Dispatcher{Subs: e.subs, Feed: e.feed, Guard: e.guard,
		Client: webhooks.Client(tr, webhooks.DefaultTimeout), Reload: 10 * time.Minute}
}

// runDispatcher runs d until the returned stop function is called (or the
// test ends).
func runDispatcher(tb testing.TB, d *webhooks.Dispatcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	tb.Cleanup(stop)
	return stop
}

// hit is one request a receiver got.
type hit struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Payload                  webhooks.Payload
	Status                   int
}

// receiver is a real HTTP server on loopback that records every request.
// Its answer is chosen by respond (200 when nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	hits    []hit
	respond func(h hit, w http.ResponseWriter) int
}

// newReceiver starts a receiver. In synctest tests call it outside the
// bubble: its goroutines block on the network.
func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := hit{ID: r.Header.Get(webhooks.HeaderID), Timestamp: r.Header.Get(webhooks.HeaderTimestamp),
			Signature: r.Header.Get(webhooks.HeaderSignature), Body: body}
		_ = json.Unmarshal(body, &h.Payload)
		rc.mu.Lock()
		respond := rc.respond
		rc.mu.Unlock()
		h.Status = http.StatusOK
		if respond != nil {
			h.Status = respond(h, w)
		}
		rc.mu.Lock()
		rc.hits = append(rc.hits, h)
		rc.mu.Unlock()
		if h.Status != 0 { // 0: the handler took the connection over
			w.WriteHeader(h.Status)
		}
	}))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) setRespond(f func(h hit, w http.ResponseWriter) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = f
}

func (rc *receiver) got() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hit(nil), rc.hits...)
}

// unixTime reads a webhook-timestamp.
func unixTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		tb.Fatalf("bad webhook-timestamp %q", s)
	}
	return time.Unix(n, 0)
}

// mustCreate registers a subscription for url.
func (e *env) mustCreate(tb testing.TB, url string, f webhooks.Filter) (webhooks.Subscription, string) {
	tb.Helper()
	sub, secret, err := e.subs.Create(context.Background(), webhooks.NewSubscription{URL: url, Filter: f, Actor: "alice", FullEnvelope: true})
	if err != nil {
		tb.Fatal(err)
	}
	return sub, secret
}

func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}
