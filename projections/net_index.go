package projections

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// netIndex is what the pages of one net window share: the window's items in
// position order with the group (net item, in order of first appearance)
// each belongs to, and each party as last seen in the window.
// [ReadModel.NetPage] finds it with one read of the window's group keys and
// keeps it in the [netCache], so that a page then reads only its own items:
// a walk through the pages of a window reads the window's keys once, not
// the whole window twice per page. A new walk of the same window with a
// later upper bound (a walk pins the position applied at its first page,
// so every walk after a write is a new window) starts from a copy of the
// cached index and reads only the items past its bound (see
// [netCache.base]). An index in the cache is never modified: walks read it
// concurrently.
type netIndex struct {
	positions []int64
	groups    []int32 // groups[i] is the group of the item at positions[i]
	nGroups   int
	keys      map[netKey]int32 // the group of each key, to extend the index
	latest    map[string]PartyRef

	gen     uint64 // the cache generation it was read in
	applied int64  // the read model's applied position when it was read
}

// netWindowKey identifies a window in the [netCache].
type netWindowKey struct {
	after, until int64
	from, to     int64 // UnixNano of FromTime and UntilTime; 0 when unbounded
}

func netKeyOfWindow(w Window) netWindowKey {
	k := netWindowKey{after: w.After, until: w.Until}
	if !w.FromTime.IsZero() {
		k.from = w.FromTime.UnixNano()
	}
	if !w.UntilTime.IsZero() {
		k.to = w.UntilTime.UnixNano()
	}
	return k
}

// Bounds of the [netCache]: the windows it keeps, and the bytes their
// indexes may take together (as [netIndex.size] estimates them); a window
// whose index alone is larger is not kept, and its index is found again
// for every page. An index costs ~12 bytes an item and ~256 a group (its
// key and its party's latest name), so a window of a million items with
// 100k groups takes ~38 MB; in practice the cache holds a few windows since
// the last reviews, a few MB.
const (
	netCacheWindows  = 8
	netCacheMaxBytes = 64 << 20
)

// netCache keeps the [netIndex] of the most recently read net windows.
// The rows of a window whose upper bound the read model had applied when
// its index was read never change again (feed rows are written once), so
// such an index stays valid until a wipe (a rebuild), which bumps gen. An
// index of a window the read model had not yet applied to its end is valid
// only while nothing more has been applied. Safe for concurrent use.
type netCache struct {
	mu      sync.Mutex
	gen     uint64
	entries map[netWindowKey]*netIndex
	order   []netWindowKey // least recently used first
	bytes   int            // the sum of the entries' sizes
}

// get returns the index of k if it is still valid at applied.
func (c *netCache) get(k netWindowKey, applied int64) *netIndex {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx := c.entries[k]
	if idx == nil || idx.gen != c.gen {
		return nil
	}
	complete := k.until > 0 && idx.applied >= k.until
	if !complete && idx.applied != applied {
		return nil
	}
	c.touchLocked(k)
	return idx
}

// base returns the index to extend into the index of k, and the upper
// bound it was read to: among the cached indexes of the same window (same
// after, from and to) with a lower upper bound, of generation gen, and
// complete (read when the read model had applied past their bound, so
// their rows never change), the one with the highest bound. It returns nil
// when there is none or k has no fixed upper bound.
func (c *netCache) base(k netWindowKey, gen uint64) (*netIndex, int64) {
	if k.until <= 0 {
		return nil, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return nil, 0
	}
	var best *netIndex
	var bestKey netWindowKey
	for bk, idx := range c.entries {
		if bk.after != k.after || bk.from != k.from || bk.to != k.to ||
			bk.until <= 0 || bk.until >= k.until || idx.gen != gen || idx.applied < bk.until {
			continue
		}
		if best == nil || bk.until > bestKey.until {
			best, bestKey = idx, bk
		}
	}
	if best == nil {
		return nil, 0
	}
	c.touchLocked(bestKey)
	return best, bestKey.until
}

// clone returns a copy of idx that can be extended without changing idx.
func (idx *netIndex) clone() *netIndex {
	return &netIndex{
		positions: slices.Clone(idx.positions),
		groups:    slices.Clone(idx.groups),
		nGroups:   idx.nGroups,
		keys:      maps.Clone(idx.keys),
		latest:    maps.Clone(idx.latest),
		gen:       idx.gen,
		applied:   idx.applied,
	}
}

// generation returns the generation an index read now belongs to.
func (c *netCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps idx for k, dropping the least recently used windows beyond
// netCacheWindows or netCacheMaxBytes. An index of an earlier generation
// is not kept.
func (c *netCache) put(k netWindowKey, idx *netIndex) {
	size := idx.size()
	if size > netCacheMaxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if idx.gen != c.gen {
		return
	}
	if c.entries == nil {
		c.entries = map[netWindowKey]*netIndex{}
	}
	c.removeLocked(k)
	for len(c.entries) > 0 && (len(c.entries) >= netCacheWindows || c.bytes+size > netCacheMaxBytes) {
		c.removeLocked(c.order[0])
	}
	c.entries[k] = idx
	c.bytes += size
	c.touchLocked(k)
}

// removeLocked forgets the index of k, if any.
func (c *netCache) removeLocked(k netWindowKey) {
	idx, ok := c.entries[k]
	if !ok {
		return
	}
	c.bytes -= idx.size()
	delete(c.entries, k)
	c.order = slices.DeleteFunc(c.order, func(o netWindowKey) bool { return o == k })
}

// size estimates the bytes idx holds: 12 an item, and 256 a group for its
// key and its party's latest name (map slots and strings).
func (idx *netIndex) size() int {
	return 12*len(idx.positions) + 256*idx.nGroups
}

func (c *netCache) touchLocked(k netWindowKey) {
	for i, o := range c.order {
		if o == k {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.order = append(c.order, k)
}

// invalidate forgets every index: the tables were wiped.
func (c *netCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.order = c.order[:0]
	c.bytes = 0
}

// resetNetCache empties the net view's cache (benchmarks start cold).
func (m *ReadModel) resetNetCache() { m.nets.invalidate() }

func (m *ReadModel) appliedPosition() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied
}

// netIndexOf returns the index of w, from the cache, extended from the
// cached index of the same window with a lower upper bound (see
// [netCache.base]), or read now.
func (m *ReadModel) netIndexOf(ctx context.Context, w Window) (*netIndex, error) {
	k := netKeyOfWindow(w)
	applied := m.appliedPosition()
	if idx := m.nets.get(k, applied); idx != nil {
		return idx, nil
	}
	gen := m.nets.generation()
	var idx *netIndex
	rest := w // the rows still to read
	if base, until := m.nets.base(k, gen); base != nil {
		idx = base.clone()
		rest.After = max(rest.After, until) // a base up to before After is empty
	} else {
		idx = &netIndex{}
	}
	idx.gen, idx.applied = gen, applied
	if err := m.readNetKeys(ctx, rest, idx); err != nil {
		return nil, err
	}
	m.nets.put(k, idx)
	return idx, nil
}

// readNetKeys appends the items of w (which must follow every item idx
// holds) to idx: their positions, their groups (a new group for a key not
// seen before, so groups stay in order of first appearance) and each
// party as last seen. Only what the group key and the party's latest name
// need is read: no field changes decoded.
func (m *ReadModel) readNetKeys(ctx context.Context, w Window, idx *netIndex) error {
	if idx.keys == nil {
		idx.keys = map[netKey]int32{}
	}
	if idx.latest == nil {
		idx.latest = map[string]PartyRef{}
	}
	rows, err := m.changeRows(ctx, w, netKeyCols)
	if err != nil || rows == nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		it, err := scanNetKey(rows)
		if err != nil {
			return fmt.Errorf("projections: net changes: %w", err)
		}
		nk := netKeyOf(it)
		g, ok := idx.keys[nk]
		if !ok {
			g = int32(len(idx.keys))
			idx.keys[nk] = g
		}
		idx.positions = append(idx.positions, it.Position)
		idx.groups = append(idx.groups, g)
		if it.Party.ID != "" {
			idx.latest[it.Party.ID] = it.Party
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("projections: net changes: %w", err)
	}
	idx.nGroups = len(idx.keys)
	return nil
}

// netWarmMaxPositions bounds the window [ReadModel.WarmNet] reads, in
// positions (~3 µs an item): a larger one (no review held on a long log)
// is left to its first walk.
const netWarmMaxPositions = 200_000

// WarmNet reads the net index of the window since the last management
// review (as GET /changes?view=net resolves it) up to the position the
// read model has applied, once it has applied the log up to the store's
// head as of the call, and keeps it in the cache. The first net walk after
// a start then extends it by the items applied since instead of reading
// the whole window. A window of more than netWarmMaxPositions positions is
// not read. WarmNet is meant to run in the background beside [ReadModel.Run]:
// it returns ctx's error (wrapped) when ctx is done first, an error
// matching [ErrStopped] when Run fails first, and the error of a failed
// read.
func (m *ReadModel) WarmNet(ctx context.Context) error {
	head, _, err := m.store.Head(ctx)
	if err != nil {
		return fmt.Errorf("projections: warm net: %w", err)
	}
	if err := m.WaitFor(ctx, head); err != nil {
		return fmt.Errorf("projections: warm net: %w", err)
	}
	w, _, _, err := ResolveWindow(ctx, m, "", "")
	if err != nil {
		return fmt.Errorf("projections: warm net: %w", err)
	}
	if w.Until <= 0 || w.Until-w.After > netWarmMaxPositions {
		return nil
	}
	if _, err := m.netIndexOf(ctx, w); err != nil {
		return fmt.Errorf("projections: warm net: %w", err)
	}
	return nil
}

// netPositionsPerQuery bounds the positions of one IN list.
const netPositionsPerQuery = 500

// eachChangeAt calls fn for the feed items at positions (ascending), in
// position order.
func (m *ReadModel) eachChangeAt(ctx context.Context, positions []int64, fn func(ChangeItem) error) error {
	for len(positions) > 0 {
		n := min(len(positions), netPositionsPerQuery)
		chunk := positions[:n]
		positions = positions[n:]
		args := make([]any, n)
		for i, p := range chunk {
			args[i] = p
		}
		q := `SELECT ` + changeCols + ` FROM changes WHERE position IN (?` +
			strings.Repeat(", ?", n-1) + `) ORDER BY position`
		if err := m.eachChangeRow(ctx, q, args, fn); err != nil {
			return err
		}
	}
	return nil
}

func (m *ReadModel) eachChangeRow(ctx context.Context, q string, args []any, fn func(ChangeItem) error) error {
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("projections: changes: %w", err)
	}
	return eachChange(rows, fn)
}

// eachChange scans change rows into items for fn and closes rows.
func eachChange(rows *sql.Rows, fn func(ChangeItem) error) error {
	defer rows.Close()
	for rows.Next() {
		it, err := scanChange(rows)
		if err != nil {
			return fmt.Errorf("projections: changes: %w", err)
		}
		if err := fn(it); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("projections: changes: %w", err)
	}
	return nil
}
