package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/handlers/pipeline/pipelinetest"
	"github.com/partyledger/partyledger/projections"
)

func MustOpenStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// mustAppend appends n events that no projection knows, one append each.
func mustAppend(tb testing.TB, st eventstore.Store, n int) {
	tb.Helper()
	for i := range n {
		ev := eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "test.noted", Schema: 1,
			Time: time.Now().UTC(), Actor: "alice", Reason: "test", Trigger: "other", Data: json.RawMessage(`{}`)}
		if _, err := st.Append(context.Background(), fmt.Sprintf("test-%d", i%5), eventstore.AnyVersion, []eventstore.Event{ev}); err != nil {
			tb.Fatal(err)
		}
	}
}

// follow runs Follow from after in the background and records positions
// until it has seen up to want; delay slows its handler down.
func follow(t *testing.T, p *pipeline.Pipeline, after, want int64, delay time.Duration) func() []int64 {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var mu sync.Mutex
	var got []int64
	done := make(chan error, 1)
	go func() {
		done <- p.Follow(ctx, after, func(ctx context.Context, changes []pipeline.Change) error {
			time.Sleep(delay)
			mu.Lock()
			defer mu.Unlock()
			for _, c := range changes {
				got = append(got, c.Event.Position)
			}
			if got[len(got)-1] >= want {
				cancel()
			}
			return nil
		})
	}()
	return func() []int64 {
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cancel()
			<-done
			t.Errorf("follower from %d did not reach %d", after, want)
		}
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// TestFollowEveryChangeOnce runs three followers on one pipeline while
// events are appended: one keeps up, one lags far beyond the ring of recent
// batches, one starts behind. Each sees every position after its start
// exactly once, in order: a lagging consumer catches up from the log.
func TestFollowEveryChangeOnce(t *testing.T) {
	st := MustOpenStore(t)
	mustAppend(t, st, 30)
	p, _ := pipelinetest.MustOpenRing(t, st, 2)
	const n = 230
	fast := follow(t, p, 0, n, 0)
	slow := follow(t, p, 0, n, 3*time.Millisecond)
	late := follow(t, p, 10, n, 0)
	mustAppend(t, st, n-30)
	for name, tc := range map[string]struct {
		got   func() []int64
		after int64
	}{"fast": {fast, 0}, "slow": {slow, 0}, "late": {late, 10}} {
		got := tc.got()
		if len(got) != n-int(tc.after) {
			t.Errorf("%s: %d changes, want %d", name, len(got), n-int(tc.after))
		}
		for i, pos := range got {
			if pos != tc.after+int64(i)+1 {
				t.Fatalf("%s: change %d at position %d, want %d (lost, repeated or out of order)", name, i, pos, tc.after+int64(i)+1)
			}
		}
	}
	if c := p.Committed(); c != n {
		t.Errorf("committed %d, want %d", c, n)
	}
}

// TestFollowPairsItems checks that a change of the register carries its
// feed item in wire form, with the names the register had after it, and
// that events that are not feed items carry none.
func TestFollowPairsItems(t *testing.T) {
	st := MustOpenStore(t)
	p, reads := pipelinetest.MustOpen(t, st)
	svc := &commands.Service{Store: st, Reads: reads}
	res, err := svc.IdentifyParty(t.Context(), domain.IdentifyParty{
		Meta: domain.Meta{Actor: "alice", Reason: "onboarding", Trigger: "contract_change"},
		Name: "Press", Category: "media", Scope: "external", Owner: "Comms", Influence: 2, Interest: 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var items []pipeline.Item
	var others int
	err = p.Follow(ctx, 0, func(ctx context.Context, changes []pipeline.Change) error {
		for _, c := range changes {
			if c.Item == nil {
				others++
				continue
			}
			items = append(items, *c.Item)
			if c.Item.EventID != c.Event.ID || c.Item.Position != c.Event.Position {
				t.Errorf("item %+v paired with event %s at %d", c.Item, c.Event.ID, c.Event.Position)
			}
		}
		if changes[len(changes)-1].Event.Position >= res.Position {
			cancel()
		}
		return nil
	})
	if err != context.Canceled {
		t.Fatalf("Follow: %v", err)
	}
	if len(items) != 1 || items[0].Party.Name != "Press" || items[0].Change != projections.ChangePartyAdded || items[0].Actor != "alice" {
		t.Fatalf("items %+v, want one party.identified item for Press by alice", items)
	}
	t.Logf("%d events without a feed item (name reservations)", others)
}

// countingRows counts the reads of feed rows.
type countingRows struct {
	pipeline.Rows
	mu    sync.Mutex
	calls int
}

func (c *countingRows) Changes(ctx context.Context, w projections.Window) ([]projections.ChangeItem, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.Rows.Changes(ctx, w)
}

// TestProducedOncePerBatch checks that eight followers that keep up cost
// one read of feed rows per applied batch in all, not one each: the items
// are produced once, by the runner's hook, and shared.
func TestProducedOncePerBatch(t *testing.T) {
	st := MustOpenStore(t)
	db, err := sqlite.OpenDB(filepath.Join(t.TempDir(), "readmodel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var p *pipeline.Pipeline
	var mu sync.Mutex
	batches := 0
	rm, err := projections.Open(t.Context(), db, st, nil, projections.WithCommitHook(func(ctx context.Context, events []eventstore.Event) {
		mu.Lock()
		batches++
		mu.Unlock()
		p.Publish(ctx, events)
	}))
	if err != nil {
		t.Fatal(err)
	}
	rows := &countingRows{Rows: rm}
	p = pipeline.New(st, rows, 0)
	ctx, cancel := context.WithCancel(t.Context())
	runDone := make(chan struct{})
	go func() { defer close(runDone); _ = rm.Run(ctx) }()
	defer func() { cancel(); <-runDone }()

	const n = 60
	var followers []func() []int64
	for range 8 {
		followers = append(followers, follow(t, p, 0, n, 0))
	}
	mustAppend(t, st, n)
	for i, got := range followers {
		if g := got(); len(g) != n {
			t.Errorf("follower %d: %d changes, want %d", i, len(g), n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	rows.mu.Lock()
	defer rows.mu.Unlock()
	if rows.calls != batches {
		t.Errorf("%d reads of feed rows for %d batches and 8 followers, want one per batch", rows.calls, batches)
	}
	t.Logf("%d batches, %d reads of feed rows, 8 followers", batches, rows.calls)
}

// staleLog answers the first stale reads with nothing, as a JetStream
// server behind its leader may; it injects that fault into a real store.
type staleLog struct {
	eventstore.Store
	mu    sync.Mutex
	stale int // reads still to answer with nothing
}

func (l *staleLog) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	l.mu.Lock()
	stale := l.stale > 0
	if stale {
		l.stale--
	}
	l.mu.Unlock()
	if stale {
		return nil, nil
	}
	return l.Store.ReadAll(ctx, after, limit)
}

// TestCatchUpNeverSkipsOnAStaleRead: a catch-up read that finds nothing
// below the applied position is read again, and if it stays empty Follow
// fails (its consumers retry) instead of skipping the changes, which every
// consumer would then lose.
func TestCatchUpNeverSkipsOnAStaleRead(t *testing.T) {
	st := MustOpenStore(t)
	_, reads := pipelinetest.MustOpen(t, st)
	mustAppend(t, st, 20)
	if err := reads.WaitFor(t.Context(), 20); err != nil {
		t.Fatal(err)
	}
	collect := func(p *pipeline.Pipeline) ([]int64, error) {
		var got []int64
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		err := p.Follow(ctx, 0, func(ctx context.Context, changes []pipeline.Change) error {
			for _, c := range changes {
				got = append(got, c.Event.Position)
			}
			if got[len(got)-1] >= 20 {
				cancel()
			}
			return nil
		})
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		return got, err
	}

	// One stale answer: read again, nothing lost.
	p := pipeline.New(&staleLog{Store: st, stale: 1}, reads, 1)
	p.Start(20)
	got, err := collect(p)
	if err != nil || len(got) != 20 || got[0] != 1 || got[19] != 20 {
		t.Fatalf("after one stale read: %v, positions %v; want 1..20", err, got)
	}

	// Stale for longer than the retries: an error, not a skip; the
	// consumer's retry then sees every change.
	p = pipeline.New(&staleLog{Store: st, stale: 100}, reads, 1)
	p.Start(20)
	if got, err := collect(p); !errors.Is(err, eventstore.ErrUnavailable) || len(got) != 0 {
		t.Fatalf("stale reads: %v after %v, want ErrUnavailable and nothing skipped", err, got)
	}
	p = pipeline.New(&staleLog{Store: st}, reads, 1)
	p.Start(20)
	if got, err := collect(p); err != nil || len(got) != 20 {
		t.Fatalf("retry: %v, %d changes, want 20", err, len(got))
	}
}
