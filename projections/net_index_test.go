package projections

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
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
