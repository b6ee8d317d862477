package projections

import (
	"cmp"
	"context"
	"slices"
	"sync"
)

// Defaults of [SnapshotCache].
const (
	DefaultSnapshotEvery = 10_000
	DefaultSnapshots     = 32
)

// SnapshotCache is a [ReadModel] whose RegisterAsOf keeps folded snapshots
// of the register in memory: a snapshot every Every positions of the log
// (or every 1/Max of the log, when that is more), made on the way by the
// folds that queries run, at most Max of them (the least recently used go
// first). A query then folds only the events after the closest snapshot
// at or before its moment instead of the whole log. Snapshots share the
// states of parties that did not change between them (copy on write), so
// each costs the party index plus what changed since the one before.
// Snapshots are folds of the log like any other, never read from the
// current rows. It is safe for concurrent use.
type SnapshotCache struct {
	*ReadModel
	// Every and Max: zero means DefaultSnapshotEvery and DefaultSnapshots.
	Every int64
	Max   int

	mu    sync.Mutex
	snaps []*cachedSnapshot // by position
	clock uint64
}

type cachedSnapshot struct {
	s    *Snapshot // never folded into: clone before use
	used uint64
}

// NewSnapshotCache wraps m.
func NewSnapshotCache(m *ReadModel) *SnapshotCache { return &SnapshotCache{ReadModel: m} }

func (c *SnapshotCache) every() int64 {
	if c.Every > 0 {
		return c.Every
	}
	return DefaultSnapshotEvery
}

func (c *SnapshotCache) max() int {
	if c.Max > 0 {
		return c.Max
	}
	return DefaultSnapshots
}

// RegisterAsOf is [ReadModel.RegisterAsOf], from the closest snapshot.
func (c *SnapshotCache) RegisterAsOf(ctx context.Context, at AsOf, f PartyFilter) ([]PartyView, error) {
	if _, _, err := f.where(); err != nil {
		return nil, err
	}
	if at.Axis == AxisEffective {
		return c.registerEffective(ctx, at, f)
	}
	upTo, err := c.upTo(ctx, at)
	if err != nil {
		return nil, err
	}
	s := c.closest(at, upTo)
	if upTo-s.through > c.ReadModel.snapshotInterval() {
		// A persistent snapshot is closer than any kept in memory.
		p, err := c.loadSnapshot(ctx, at, upTo)
		if err != nil {
			return nil, err
		}
		if p.through > s.through {
			s = p
		}
	}
	every := max(c.every(), upTo/int64(c.max()))
	err = s.foldTo(ctx, c.store, at.includes, upTo, func(s *Snapshot) {
		if s.through%every == 0 {
			c.keep(s.clone())
		}
	})
	if err != nil {
		return nil, err
	}
	return s.Register(f)
}

// closest returns a copy of the latest snapshot usable for at and upTo (one
// that holds no event at leaves out), or an empty one.
func (c *SnapshotCache) closest(at AsOf, upTo int64) *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.snaps) - 1; i >= 0; i-- {
		cs := c.snaps[i]
		if cs.s.through > upTo || (!at.Time.IsZero() && cs.s.tmax.After(at.Time)) {
			continue
		}
		c.clock++
		cs.used = c.clock
		return cs.s.clone()
	}
	return newSnapshot()
}

// keep adds s to the cache, evicting the least recently used beyond Max.
func (c *SnapshotCache) keep(s *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i, found := slices.BinarySearchFunc(c.snaps, s.through, func(cs *cachedSnapshot, pos int64) int {
		return cmp.Compare(cs.s.through, pos)
	})
	c.clock++
	if found {
		c.snaps[i].used = c.clock
		return
	}
	c.snaps = slices.Insert(c.snaps, i, &cachedSnapshot{s: s, used: c.clock})
	for len(c.snaps) > c.max() {
		lru := 0
		for j, cs := range c.snaps {
			if cs.used < c.snaps[lru].used {
				lru = j
			}
		}
		c.snaps = slices.Delete(c.snaps, lru, lru+1)
	}
}
