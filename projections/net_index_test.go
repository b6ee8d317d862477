package projections

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/partyledger/partyledger/domain"
)

// mustNetPages walks every net page of w, limit groups at a time.
func mustNetPages(tb testing.TB, m *ReadModel, w Window, limit int) []NetItem {
	tb.Helper()
	var got []NetItem
	for offset, i := 0, 0; ; i++ {
		page, next, err := m.NetPage(context.Background(), w, offset, limit)
		if err != nil {
			tb.Fatal(err)
		}
		got = append(got, page...)
		if next == 0 || i > 1000 {
			return got
		}
		offset = next
	}
}

// mustNetWhole is the net view of w from the whole detailed feed.
func mustNetWhole(tb testing.TB, m *ReadModel, w Window) []NetItem {
	tb.Helper()
	items, err := m.Changes(context.Background(), w)
	if err != nil {
		tb.Fatal(err)
	}
	return NetChanges(items)
}

// TestNetPageIndexCache checks that the net pages of a window keep
// matching the whole net view while the window's index is cached: for a
// window the read model has applied to its end (kept), for a window that
// reaches past what is applied (read again once more is applied, so later
// items are not lost), and across a rebuild (which forgets every index).
func TestNetPageIndexCache(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	stop := MustRun(t, m)
	l := newLedger(t, store)
	_, acme, _ := scenario(l, func() {})
	MustWait(t, m, l.head)

	closed := Window{After: 0, Until: l.head}
	want := mustNetWhole(t, m, closed)
	if len(want) < 4 {
		t.Fatalf("only %d net items", len(want))
	}
	if diff := cmp.Diff(want, mustNetPages(t, m, closed, 2)); diff != "" {
		t.Errorf("closed window (-whole +pages):\n%s", diff)
	}
	if idx := m.nets.get(netKeyOfWindow(closed), m.appliedPosition()); idx == nil || idx.nGroups < len(want) {
		t.Fatalf("closed window's index not kept: %+v", idx)
	}

	// A window past the head: its first page is read before the events
	// that complete it are applied.
	open := Window{After: 0, Until: l.head + 50}
	if _, _, err := m.NetPage(ctx, open, 0, 2); err != nil {
		t.Fatal(err)
	}
	l.revise(domain.ReviseParty{PartyID: acme, Name: ptr("Acme Cloud"), Interest: ptr(2)})
	newby := l.identify("Late party", "regulator", "external", "")
	l.requirement(newby, "requirement", "Report incidents in 72 h")
	MustWait(t, m, l.head)
	wantOpen := mustNetWhole(t, m, open)
	if diff := cmp.Diff(wantOpen, mustNetPages(t, m, open, 2)); diff != "" {
		t.Errorf("open window after more events (-whole +pages):\n%s", diff)
	}
	if len(wantOpen) <= len(want) {
		t.Fatalf("open window has %d net items, closed %d: the late party is missing", len(wantOpen), len(want))
	}

	// The closed window is unchanged by later events, and by a rebuild.
	if diff := cmp.Diff(want, mustNetPages(t, m, closed, 3)); diff != "" {
		t.Errorf("closed window after more events (-whole +pages):\n%s", diff)
	}
	stop()
	gen := m.nets.generation()
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if m.nets.generation() == gen || m.nets.get(netKeyOfWindow(closed), m.appliedPosition()) != nil {
		t.Error("rebuild kept the net indexes of before")
	}
	if diff := cmp.Diff(want, mustNetPages(t, m, closed, 3)); diff != "" {
		t.Errorf("closed window after rebuild (-whole +pages):\n%s", diff)
	}
}

// TestNetCacheBounds checks the cache's eviction and its refusal of an
// index read before a wipe.
func TestNetCacheBounds(t *testing.T) {
	var c netCache
	for i := range netCacheWindows + 2 {
		c.put(netWindowKey{until: int64(i + 1)}, &netIndex{applied: 100})
	}
	if len(c.entries) != netCacheWindows {
		t.Fatalf("%d windows kept, want %d", len(c.entries), netCacheWindows)
	}
	if c.get(netWindowKey{until: 1}, 100) != nil || c.get(netWindowKey{until: netCacheWindows + 2}, 100) == nil {
		t.Error("eviction is not least recently used")
	}
	stale := &netIndex{gen: c.generation(), applied: 100}
	c.invalidate()
	c.put(netWindowKey{until: 7}, stale)
	if c.get(netWindowKey{until: 7}, 100) != nil {
		t.Error("an index read before a wipe was kept")
	}
	// Incomplete (until past applied): valid only at the same applied.
	c.put(netWindowKey{until: 500}, &netIndex{gen: c.generation(), applied: 100})
	if c.get(netWindowKey{until: 500}, 100) == nil || c.get(netWindowKey{until: 500}, 101) != nil {
		t.Error("an index of a window not applied to its end is not tied to the applied position")
	}
}

// netWriter appends random party and requirement changes through a ledger.
type netWriter struct {
	l       *ledger
	rng     *rand.Rand
	parties []domain.PartyID
	reqs    map[domain.PartyID][]domain.RequirementID
	n       int
}

// write appends n random changes: new parties, renames, new and retired
// requirements.
func (w *netWriter) write(n int) {
	if w.reqs == nil {
		w.reqs = map[domain.PartyID][]domain.RequirementID{}
	}
	for range n {
		w.n++
		switch op := w.rng.IntN(10); {
		case len(w.parties) < 3 || op < 2:
			w.parties = append(w.parties, w.l.identify(fmt.Sprintf("Party %d", w.n), "customer", "external", ""))
		case op < 5:
			p := w.parties[w.rng.IntN(len(w.parties))]
			w.l.revise(domain.ReviseParty{PartyID: p, Name: ptr(fmt.Sprintf("Renamed %d", w.n))})
		case op < 8:
			p := w.parties[w.rng.IntN(len(w.parties))]
			w.reqs[p] = append(w.reqs[p], w.l.requirement(p, "requirement", fmt.Sprintf("Requirement %d", w.n)))
		default:
			p := w.parties[w.rng.IntN(len(w.parties))]
			if rs := w.reqs[p]; len(rs) > 0 {
				w.l.retireRequirement(p, rs[len(rs)-1])
				w.reqs[p] = rs[:len(rs)-1]
			} else {
				w.l.revise(domain.ReviseParty{PartyID: p, Name: ptr(fmt.Sprintf("Renamed %d", w.n))})
			}
		}
	}
}

// mustEqualNetIndex fails unless got holds what want holds.
func mustEqualNetIndex(tb testing.TB, name string, got, want *netIndex) {
	tb.Helper()
	if diff := cmp.Diff(want.positions, got.positions); diff != "" {
		tb.Errorf("%s: positions (-fresh +extended):\n%s", name, diff)
	}
	if diff := cmp.Diff(want.groups, got.groups); diff != "" {
		tb.Errorf("%s: groups (-fresh +extended):\n%s", name, diff)
	}
	if got.nGroups != want.nGroups || !maps.Equal(got.keys, want.keys) {
		tb.Errorf("%s: %d groups %v, fresh %d %v", name, got.nGroups, got.keys, want.nGroups, want.keys)
	}
	if diff := cmp.Diff(want.latest, got.latest); diff != "" {
		tb.Errorf("%s: latest parties (-fresh +extended):\n%s", name, diff)
	}
}

// TestNetIndexExtended checks that a new walk of a window whose earlier
// walk's index is cached extends that index by the items past its upper
// bound, and that the extended index equals one read fresh (positions,
// groups in order of first appearance, number of groups, latest parties)
// for random windows with random writes in between; that the index it
// extends is left as it was (other walks read it); and that the pages
// walked with the extended index equal the whole net view.
func TestNetIndexExtended(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	rng := rand.New(rand.NewPCG(17, 4))
	wr := &netWriter{l: l, rng: rng}
	wr.write(30)
	MustWait(t, m, l.head)

	// Four window shapes, each walked again after every round of writes:
	// from the beginning, from a position, from a time, and up to a time
	// that later writes pass.
	mid := l.head / 2
	shapes := []Window{
		{},
		{After: 1 + rng.Int64N(mid)},
		{After: rng.Int64N(mid), FromTime: t0.Add(time.Duration(rng.Int64N(mid)) * time.Minute)},
		{UntilTime: t0.Add(time.Duration(l.head+40) * time.Minute)},
	}
	prev := make([]int64, len(shapes)) // the upper bound each shape was last walked to
	extended := 0
	for round := range 8 {
		for i, s := range shapes {
			w := s
			w.Until = prev[i] + 1 + rng.Int64N(l.head-prev[i])
			if round == 7 {
				w.Until = l.head
			}
			k := netKeyOfWindow(w)
			base, baseUntil := m.nets.base(k, m.nets.generation())
			if round > 0 && (base == nil || baseUntil != prev[i]) {
				t.Fatalf("round %d, window %+v: base until %d, want the index of the last walk (until %d)", round, w, baseUntil, prev[i])
			}
			var before *netIndex
			if base != nil {
				// Copied here, not by clone, which is under test.
				before = &netIndex{positions: slices.Clone(base.positions), groups: slices.Clone(base.groups),
					nGroups: base.nGroups, keys: maps.Clone(base.keys), latest: maps.Clone(base.latest)}
				extended++
			}
			got, err := m.netIndexOf(ctx, w)
			if err != nil {
				t.Fatal(err)
			}
			fresh := &netIndex{}
			if err := m.readNetKeys(ctx, w, fresh); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("round %d, window %+v", round, w)
			mustEqualNetIndex(t, name, got, fresh)
			if before != nil {
				mustEqualNetIndex(t, name+": the extended index", base, before)
			}
			if diff := cmp.Diff(mustNetWhole(t, m, w), mustNetPages(t, m, w, 1+rng.IntN(4)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("%s (-whole +pages):\n%s", name, diff)
			}
			prev[i] = w.Until
		}
		wr.write(1 + rng.IntN(15))
		MustWait(t, m, l.head)
	}
	if extended < 7*len(shapes) {
		t.Errorf("%d indexes extended, want %d", extended, 7*len(shapes))
	}
}

// TestNetCacheBase checks which cached index a window extends: only a
// complete index of the same window (after, from, to) with a lower upper
// bound, of the current generation, the one with the highest bound.
func TestNetCacheBase(t *testing.T) {
	var c netCache
	gen := c.generation()
	k := netWindowKey{after: 10, until: 100, from: 5}
	put := func(k netWindowKey, applied int64) *netIndex {
		idx := &netIndex{gen: gen, applied: applied, positions: []int64{k.until}}
		c.put(k, idx)
		return idx
	}
	if b, _ := c.base(k, gen); b != nil {
		t.Fatal("base of an empty cache")
	}
	put(netWindowKey{after: 11, until: 90, from: 5}, 200)        // another after
	put(netWindowKey{after: 10, until: 90}, 200)                 // another from
	put(netWindowKey{after: 10, until: 90, from: 5, to: 1}, 200) // another to
	put(netWindowKey{after: 10, until: 120, from: 5}, 200)       // a higher bound
	put(netWindowKey{after: 10, until: 95, from: 5}, 94)         // incomplete
	if b, _ := c.base(k, gen); b != nil {
		t.Fatalf("base %v, want none", b.positions)
	}
	put(netWindowKey{after: 10, until: 50, from: 5}, 60)
	want := put(netWindowKey{after: 10, until: 80, from: 5}, 80)
	if b, u := c.base(k, gen); b != want || u != 80 {
		t.Fatalf("base until %d, want the complete one up to 80", u)
	}
	if b, _ := c.base(netWindowKey{after: 10, from: 5}, gen); b != nil {
		t.Error("a window without a fixed upper bound was given a base")
	}
	c.invalidate()
	if b, _ := c.base(k, c.generation()); b != nil {
		t.Error("base from before a wipe")
	}
}

// TestWarmNet checks that WarmNet waits for the read model to catch up
// (and gives up with ctx), then keeps the index of the window since the
// last review, which the first walk after more events extends.
func TestWarmNet(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	l := newLedger(t, store)
	wr := &netWriter{l: l, rng: rand.New(rand.NewPCG(3, 9))}
	wr.write(20)
	l.review("Q1 review")
	wr.write(25)
	m := MustOpenReadModel(t, store)

	// Not following the log: it waits, and gives up with ctx.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := m.WarmNet(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WarmNet before Run: %v, want the deadline", err)
	}
	MustRun(t, m)
	if err := m.WarmNet(ctx); err != nil {
		t.Fatal(err)
	}
	rv, ok, err := m.LastReview(ctx)
	if err != nil || !ok || rv.ConsideredTo == 0 {
		t.Fatalf("last review: %+v %v %v", rv, ok, err)
	}
	warm := Window{After: rv.ConsideredTo, Until: l.head}
	idx := m.nets.get(netKeyOfWindow(warm), m.appliedPosition())
	if idx == nil {
		t.Fatalf("the window since the last review %+v was not warmed", warm)
	}
	fresh := &netIndex{}
	if err := m.readNetKeys(ctx, warm, fresh); err != nil {
		t.Fatal(err)
	}
	if len(fresh.positions) == 0 {
		t.Fatal("an empty window since the last review")
	}
	mustEqualNetIndex(t, "warmed", idx, fresh)

	wr.write(10)
	MustWait(t, m, l.head)
	w, _, _, err := ResolveWindow(ctx, m, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if base, until := m.nets.base(netKeyOfWindow(w), m.nets.generation()); base != idx || until != warm.Until {
		t.Fatalf("the first walk of %+v would extend the index up to %d, want the warmed one up to %d", w, until, warm.Until)
	}
	if diff := cmp.Diff(mustNetWhole(t, m, w), mustNetPages(t, m, w, 3)); diff != "" {
		t.Errorf("since the last review (-whole +pages):\n%s", diff)
	}
}

// TestNetWalksConcurrent walks the net view since the beginning from
// several goroutines while writes go on, each walk pinned at the position
// applied at its first page as GET /changes does, so that walks extend
// indexes other walks are reading; each walk must equal the whole net view
// of its window (run it with -race).
func TestNetWalksConcurrent(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	wr := &netWriter{l: l, rng: rand.New(rand.NewPCG(8, 1))}
	wr.write(30)
	MustWait(t, m, l.head)

	type walk struct {
		w     Window
		items []NetItem
	}
	walked := make(chan []walk, 4)
	for g := range 4 {
		go func() {
			var ws []walk
			defer func() { walked <- ws }()
			for range 6 {
				cp, err := m.Checkpoint(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				wk := walk{w: Window{Until: cp}}
				for offset := 0; ; {
					page, next, err := m.NetPage(ctx, wk.w, offset, 2+g)
					if err != nil {
						t.Error(err)
						return
					}
					wk.items = append(wk.items, page...)
					if next == 0 {
						break
					}
					offset = next
				}
				ws = append(ws, wk)
			}
		}()
	}
	for range 5 {
		wr.write(5)
	}
	var walks []walk
	for range 4 {
		walks = append(walks, <-walked...)
	}
	for _, wk := range walks {
		if diff := cmp.Diff(mustNetWhole(t, m, wk.w), wk.items, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("window %+v (-whole +walked):\n%s", wk.w, diff)
		}
	}
	if len(walks) != 24 {
		t.Errorf("%d walks, want 24", len(walks))
	}
}
