package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
)

// netIndex is what the pages of one net window share: the window's items in
// position order with the group (net item, in order of first appearance)
// each belongs to, and each party as last seen in the window.
// [ReadModel.NetPage] finds it with one read of the window's group keys and
// keeps it in the [netCache], so that a page then reads only its own items:
// a walk through the pages of a window reads the window's keys once, not
// the whole window twice per page.
type netIndex struct {
	positions []int64
	groups    []int32 // groups[i] is the group of the item at positions[i]
	nGroups   int
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

// Bounds of the [netCache]: the windows it keeps, and the largest window (in
// items) it keeps; a larger window's index is found again for every page.
// An index costs 12 bytes per item, so the cache holds at most ~100 MB only
// in the unlikely case of 8 windows of a million items each; in practice a
// few windows since the last reviews.
const (
	netCacheWindows  = 8
	netCacheMaxItems = 1 << 20
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

// generation returns the generation an index read now belongs to.
func (c *netCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put keeps idx for k, dropping the least recently used window beyond
// netCacheWindows. An index of an earlier generation is not kept.
func (c *netCache) put(k netWindowKey, idx *netIndex) {
	if len(idx.positions) > netCacheMaxItems {
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
	if _, ok := c.entries[k]; !ok && len(c.entries) >= netCacheWindows {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[k] = idx
	c.touchLocked(k)
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
}

// resetNetCache empties the net view's cache (benchmarks start cold).
func (m *ReadModel) resetNetCache() { m.nets.invalidate() }

func (m *ReadModel) appliedPosition() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.applied
}

// netIndexOf returns the index of w, from the cache or read now.
func (m *ReadModel) netIndexOf(ctx context.Context, w Window) (*netIndex, error) {
	k := netKeyOfWindow(w)
	applied := m.appliedPosition()
	if idx := m.nets.get(k, applied); idx != nil {
		return idx, nil
	}
	idx := &netIndex{latest: map[string]PartyRef{}, gen: m.nets.generation(), applied: applied}
	index := map[netKey]int32{}
	// Only what the group key and the party's latest name need: no field
	// changes decoded.
	rows, err := m.changeRows(ctx, w, netKeyCols)
	if err != nil {
		return nil, err
	}
	if rows != nil {
		defer rows.Close()
		for rows.Next() {
			it, err := scanNetKey(rows)
			if err != nil {
				return nil, fmt.Errorf("projections: net changes: %w", err)
			}
			nk := netKeyOf(it)
			g, ok := index[nk]
			if !ok {
				g = int32(len(index))
				index[nk] = g
			}
			idx.positions = append(idx.positions, it.Position)
			idx.groups = append(idx.groups, g)
			if it.Party.ID != "" {
				idx.latest[it.Party.ID] = it.Party
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("projections: net changes: %w", err)
		}
	}
	idx.nGroups = len(index)
	m.nets.put(k, idx)
	return idx, nil
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
