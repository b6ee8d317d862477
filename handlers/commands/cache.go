package commands

import (
	"container/list"
	"sync"

	"github.com/partyledger/partyledger/eventstore"
)

// DefaultCacheBytes is the default bound of a [FoldCache]: 32 MB.
const DefaultCacheBytes = 32 << 20

// entryOverhead is what one cached event is reckoned to cost beside its
// data: the folded fields, map slots and the entry's own bookkeeping.
const entryOverhead = 256

// FoldCache keeps folded aggregates, so that a command reads only the
// events appended after the cached version instead of folding its whole
// stream again. It is a least-recently-used cache bounded by an estimate of
// memory: the size of the events folded into each entry plus a fixed
// overhead per event. It is safe for concurrent use.
//
// The cache is never trusted blindly: every command reads the stream's
// tail after the cached version before deciding (another process may have
// appended), and appends with the version it decided on as the expected
// one, so a stale entry costs a read or a conflict, never a lost update.
type FoldCache struct {
	max int64

	mu    sync.Mutex
	used  int64
	lru   *list.List // of *cacheEntry, most recently used first
	index map[string]*list.Element
}

// NewFoldCache returns a cache bounded by maxBytes (<= 0: [DefaultCacheBytes]).
func NewFoldCache(maxBytes int64) *FoldCache {
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &FoldCache{max: maxBytes, lru: list.New(), index: map[string]*list.Element{}}
}

// cacheEntry is one stream's folded state. mu guards state, version and
// folded; a command holds it while it catches up and decides, never while it
// appends.
type cacheEntry struct {
	stream string

	mu      sync.Mutex
	state   any   // *A of the aggregate type; nil when empty
	version int64 // stream version folded into state
	folded  int64 // estimated bytes of state, guarded by mu

	size int64 // estimated bytes as last reported, guarded by FoldCache.mu
}

// entry returns the entry of stream, creating an empty one, and marks it
// most recently used.
func (c *FoldCache) entry(stream string) *cacheEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.index[stream]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cacheEntry)
	}
	// Even an empty entry (a probe of an unknown id) counts, so that
	// lookups of many unknown streams cannot grow the cache unbounded.
	e := &cacheEntry{stream: stream, size: entryOverhead}
	el := c.lru.PushFront(e)
	c.index[stream] = el
	c.used += entryOverhead
	c.evict(el)
	return e
}

// resize records that e now holds size bytes and evicts the least recently
// used entries while the cache is over its bound. An evicted entry that a
// command still holds stays valid for that command; it is just forgotten.
func (c *FoldCache) resize(e *cacheEntry, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.index[e.stream]
	if !ok || el.Value.(*cacheEntry) != e {
		return // evicted meanwhile
	}
	size += entryOverhead
	c.used += size - e.size
	e.size = size
	c.evict(el)
}

// evict drops least recently used entries other than keep while the cache
// is over its bound. The caller holds c.mu.
func (c *FoldCache) evict(keep *list.Element) {
	for c.used > c.max && c.lru.Len() > 1 {
		last := c.lru.Back()
		if last == keep {
			break
		}
		old := last.Value.(*cacheEntry)
		c.lru.Remove(last)
		delete(c.index, old.stream)
		c.used -= old.size
	}
}

// Stats reports the number of cached streams and their estimated bytes.
func (c *FoldCache) Stats() (streams int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.used
}

// eventSize is the cache's estimate of what folding ev costs in memory.
func eventSize(ev eventstore.Event) int64 { return int64(len(ev.Data)) + entryOverhead }
