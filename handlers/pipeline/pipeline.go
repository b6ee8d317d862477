// Package pipeline is partyledger's one committed-change stream: the
// projections runner produces it once per applied batch, after the batch
// committed, and every consumer of changes (the live stream
// GET /api/v1/stream, the webhook dispatcher, the bus forwarder) follows it
// with one mechanism, [Pipeline.Follow], each from a checkpoint of its own
// kept where it belongs (a webhook subscription's position with the
// subscription, the bus forwarder's beside it in the event log's file, an
// SSE client's in its Last-Event-ID).
//
// # Producing
//
// [Pipeline.Publish] is the projections runner's commit hook
// (projections.WithCommitHook): it reads the batch's feed rows once, turns
// them into wire [Item]s, keeps the batch in a bounded ring of recent
// batches and wakes the followers. A failure to read the rows only leaves
// the batch out of the ring; followers then read it from the log and the
// read model like any other catch-up.
//
// # Following
//
// A follower asks for the changes after its position. When the ring holds
// them, it takes them from memory; otherwise (it started behind, or it
// lagged more than the ring holds) it reads them from the log and the
// read model by position, up to the committed position, and then follows
// live. A slow consumer therefore never loses items and never holds up the
// runner or the other consumers: nothing is pushed to it, it pulls.
package pipeline

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/projections"
)

// Log is what catch-up reads from the event store.
type Log interface {
	ReadAll(ctx context.Context, fromPosition int64, limit int) ([]eventstore.Event, error)
}

// Rows is what the pipeline reads from the read model (implemented by
// *projections.ReadModel).
type Rows interface {
	Changes(ctx context.Context, w projections.Window) ([]projections.ChangeItem, error)
}

// Defaults.
const (
	// DefaultRing is how many recent batches the pipeline keeps in memory.
	DefaultRing = 256
	// RingEvents bounds the changes the ring holds across its batches
	// (each with its envelope): a catch-up at start-up applies batches of
	// thousands of events, which followers read from the log instead. A
	// batch larger than this is not kept at all.
	RingEvents = 2048
	// CatchUpBatch is how many events a catch-up read takes at a time.
	CatchUpBatch = 512
)

// batch is one applied batch in the ring: the changes after position prev,
// up to and including last.
type batch struct {
	prev, last int64
	changes    []Change
}

// Pipeline is the committed-change stream. Create it with [New], give
// [Pipeline.Publish] to the projections runner as its commit hook and call
// [Pipeline.Start] with the read model's checkpoint before the runner
// starts. It is safe for concurrent use.
type Pipeline struct {
	log  Log
	rows Rows
	size int

	mu        sync.Mutex
	committed int64         // the last position whose batch committed
	wake      chan struct{} // closed and replaced when committed moves
	ring      []batch       // oldest first, contiguous or with holes
	held      int           // changes in ring, at most RingEvents
}

// New returns a pipeline that catches followers up from log and rows, and
// keeps ring batches in memory (0 means [DefaultRing]).
func New(log Log, rows Rows, ring int) *Pipeline {
	if ring <= 0 {
		ring = DefaultRing
	}
	return &Pipeline{log: log, rows: rows, size: ring, wake: make(chan struct{})}
}

// Start sets the committed position: the read model's checkpoint when the
// process starts, before the runner applies anything.
func (p *Pipeline) Start(committed int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if committed > p.committed {
		p.committed = committed
		p.notifyLocked()
	}
}

// Committed returns the position up to which changes can be followed.
func (p *Pipeline) Committed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.committed
}

func (p *Pipeline) notifyLocked() {
	close(p.wake)
	p.wake = make(chan struct{})
}

// Publish is the commit hook of the projections runner: events is a batch
// that has just committed, in position order. Events at or below the
// committed position (a batch re-applied after a restart) are dropped.
func (p *Pipeline) Publish(ctx context.Context, events []eventstore.Event) {
	p.mu.Lock()
	prev := p.committed
	p.mu.Unlock()
	i := 0
	for i < len(events) && events[i].Position <= prev {
		i++
	}
	events = events[i:]
	if len(events) == 0 {
		return
	}
	last := events[len(events)-1].Position
	changes, err := p.pair(ctx, prev, events)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && len(changes) <= RingEvents {
		for len(p.ring) > 0 && (len(p.ring) == p.size || p.held+len(changes) > RingEvents) {
			p.held -= len(p.ring[0].changes)
			p.ring = append(p.ring[:0], p.ring[1:]...)
		}
		p.ring = append(p.ring, batch{prev: prev, last: last, changes: changes})
		p.held += len(changes)
	}
	p.committed = last
	p.notifyLocked()
}

// pair reads the feed rows of events (all after position after) and pairs
// each event with its item.
func (p *Pipeline) pair(ctx context.Context, after int64, events []eventstore.Event) ([]Change, error) {
	last := events[len(events)-1].Position
	rows, err := p.rows.Changes(ctx, projections.Window{After: after, Until: last})
	if err != nil {
		return nil, fmt.Errorf("pipeline: read change rows %d-%d: %w", after+1, last, err)
	}
	byPos := make(map[int64]*Item, len(rows))
	for i := range rows {
		it := ItemOf(rows[i])
		byPos[it.Position] = &it
	}
	out := make([]Change, len(events))
	for i, ev := range events {
		out[i] = Change{Event: ev, Item: byPos[ev.Position]}
	}
	return out, nil
}

// fromRingLocked returns the changes after position after of the ring
// batch that holds after+1, the batch's last position, and whether there is
// one. The caller holds mu.
func (p *Pipeline) fromRingLocked(after int64) ([]Change, int64, bool) {
	for _, b := range p.ring {
		if b.prev <= after && after < b.last {
			j := 0
			for j < len(b.changes) && b.changes[j].Event.Position <= after {
				j++
			}
			return b.changes[j:], b.last, true
		}
	}
	return nil, 0, false
}

// catchUp reads the changes after position after, up to committed, from
// the log and the read model.
//
// The event at committed exists (the read model applied it), so a read
// that finds nothing up to it is stale — a JetStream server that has not
// caught up after a leader change answered — and not a gap to skip: it is
// read again a few times, then reported as an error matching
// [eventstore.ErrUnavailable], which the followers retry. Skipping would
// lose those changes for every consumer.
func (p *Pipeline) catchUp(ctx context.Context, after, committed int64) ([]Change, error) {
	for try := 0; ; try++ {
		events, err := p.log.ReadAll(ctx, after, CatchUpBatch)
		if err != nil {
			return nil, fmt.Errorf("pipeline: read the log after %d: %w", after, err)
		}
		n := 0
		for n < len(events) && events[n].Position <= committed {
			n++
		}
		if n > 0 {
			return p.pair(ctx, after, events[:n])
		}
		if try == staleReads {
			return nil, fmt.Errorf("pipeline: %w: the log answered no event after position %d, though %d is applied (a stale read?)",
				eventstore.ErrUnavailable, after, committed)
		}
		t := time.NewTimer(staleReadPause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// staleReads is how many times a catch-up read that found nothing is
// repeated, staleReadPause apart, before it fails.
const (
	staleReads     = 3
	staleReadPause = 50 * time.Millisecond
)

// Follow calls fn with every committed change after position after, in
// position order and in batches, then keeps following new batches until
// ctx is done (it returns ctx.Err()) or fn or a read fails (it returns that
// error). fn runs in the caller's goroutine; while it runs, the producer
// and the other followers go on.
func (p *Pipeline) Follow(ctx context.Context, after int64, fn func(ctx context.Context, changes []Change) error) error {
	for {
		p.mu.Lock()
		committed, wake := p.committed, p.wake
		var changes []Change
		hit, upTo := false, committed
		if after < committed {
			changes, upTo, hit = p.fromRingLocked(after)
		}
		p.mu.Unlock()
		if after < committed {
			if !hit {
				var err error
				if changes, err = p.catchUp(ctx, after, committed); err != nil {
					return err
				}
				upTo = committed
			}
			if len(changes) > 0 {
				if err := fn(ctx, changes); err != nil {
					return err
				}
				after = changes[len(changes)-1].Event.Position
			} else {
				// A ring batch with no changes after this position (its
				// events were all at or before it): move past it.
				after = upTo
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
