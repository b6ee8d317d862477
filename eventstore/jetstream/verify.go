package jetstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/partyledger/partyledger/eventstore"
)

// Chain checks a JetStream event log, read from the start in position
// order, against the store's rules:
//
//   - every Hash is [ComputeHash] of its event (the canonical hash with
//     Position 0);
//   - PrevHash is the Hash of the previous event of the same aggregate
//     stream, "" for a stream's first event (the chain is per stream, so
//     appends to different streams need no global lock);
//   - each stream's versions run 1, 2, 3, ... without gaps;
//   - positions strictly increase. They are JetStream sequences, which
//     skip numbers only where messages were removed from the stream
//     (the store's stream denies deletes and purges).
//
// The order of events of different streams is not covered by any hash;
// compare [Chain.Digest] with a digest recorded earlier (for instance in a
// signed checkpoint) to cover it.
//
// The zero value is ready to use. It is not safe for concurrent use.
type Chain struct {
	last     map[string]eventstore.Event // last event of each stream
	pos      int64
	n        int64
	problems []error
	digest   string
}

// maxProblems bounds what [Chain.Err] reports.
const maxProblems = 20

// Check checks the next event of the log.
func (c *Chain) Check(ev eventstore.Event) {
	if c.last == nil {
		c.last = map[string]eventstore.Event{}
	}
	c.n++
	fail := func(format string, args ...any) {
		if len(c.problems) < maxProblems {
			c.problems = append(c.problems, fmt.Errorf("position %d (stream %s, version %d): %s",
				ev.Position, ev.Stream, ev.Version, fmt.Sprintf(format, args...)))
		}
	}
	if ev.Position <= c.pos {
		fail("comes after position %d: the log is out of order", c.pos)
	}
	if got := ComputeHash(ev); got != ev.Hash {
		fail("hash %s does not match the content (computed %s): the event was altered", ev.Hash, got)
	}
	prev, seen := c.last[ev.Stream]
	if want := prev.Hash; ev.PrevHash != want {
		fail("prev_hash %q is not the hash of the stream's previous event %q: an event of the stream was inserted, removed or altered", ev.PrevHash, want)
	}
	if want := prev.Version + 1; ev.Version != want {
		if seen {
			fail("version %d after version %d: the stream's versions are not contiguous", ev.Version, prev.Version)
		} else {
			fail("the stream starts at version %d, want 1", ev.Version)
		}
	}
	c.last[ev.Stream] = ev
	c.pos = ev.Position
	d := sha256.Sum256(fmt.Appendf(nil, "%s\n%d\n%s", c.digest, ev.Position, ev.Hash))
	c.digest = hex.EncodeToString(d[:])
}

// Events returns how many events were checked.
func (c *Chain) Events() int64 { return c.n }

// Digest returns a running hash over the position and hash of every event
// checked so far, in order (d = hex(SHA-256(d + "\n" + position + "\n" +
// hash)), starting from ""): equal digests at the same position mean the
// same events in the same global order.
func (c *Chain) Digest() string { return c.digest }

// Err returns the problems found (the first 20), nil when the log is intact.
func (c *Chain) Err() error { return errors.Join(c.problems...) }

// CheckChain checks a whole log, read from position 0 in position order;
// see [Chain].
func CheckChain(events []eventstore.Event) error {
	var c Chain
	for _, ev := range events {
		c.Check(ev)
	}
	return c.Err()
}

// Verify reads the whole log of s and checks it with [Chain]. It returns
// the chain (its Err is nil when the log is intact), or an error when the
// log cannot be read.
func Verify(ctx context.Context, s eventstore.Store) (*Chain, error) {
	c := &Chain{}
	var after int64
	for {
		evs, err := s.ReadAll(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			return c, nil
		}
		for _, ev := range evs {
			c.Check(ev)
		}
		after = evs[len(evs)-1].Position
	}
}
