// Package verify checks that an event log is intact: every event's hash
// recomputes, every event links to the one before it, positions run without
// gaps from 1 and each stream's versions run without gaps from 1. It also
// checks the log against trusted hashes taken earlier (signed checkpoints,
// see package checkpoint, or an exported copy of the log), which is what
// detects a truncated, rolled-back or wholly re-hashed log.
//
// # What can be located where
//
// An edited, deleted or reordered event breaks the chain at that event, so
// [Verify] reports it at its exact position from the log alone. Removing
// events from the tail, restoring an older copy of the database or
// re-hashing the whole chain after an edit leaves a chain that is
// consistent in itself; only a hash recorded earlier reveals it. A signed
// checkpoint (position, hash) reveals a shorter log at the first missing
// position, and a re-hashed chain at the checkpoint's position: a single
// hash cannot tell which earlier event was changed. A trusted earlier copy
// of the log's hashes ([Options.Reference], such as an auditor's export)
// locates every kind of change at the first affected position.
//
// # Chains
//
// The SQLite store chains events in global position order ([GlobalChain])
// and hashes them with [eventstore.Event.ComputeHash]. A store that cannot
// keep a global order cheaply may chain each stream on its own
// ([StreamChain]) or supply its own [ChainRule], hash with its own
// function ([Options].Hash) and skip positions ([Options].AllowGaps).
//
// The package is store-agnostic: it reads events through [FromStore] (any
// [Reader], such as an [eventstore.Store]) or [FromJSONL] (an exported
// events.jsonl file).
package verify

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/partyledger/partyledger/eventstore"
)

// Head is the last event of the log.
type Head struct {
	Position int64  `json:"position"`
	Hash     string `json:"hash"`
}

// Failure is the first place where the log is not intact.
type Failure struct {
	Position int64  `json:"position"`
	Reason   string `json:"reason"`
}

// Result is the outcome of [Verify].
type Result struct {
	// OK is true when no check failed.
	OK bool `json:"ok"`
	// Events is the number of events read.
	Events int64 `json:"events"`
	// Head is the last event read (zero for an empty log).
	Head Head `json:"head"`
	// FirstFailure is the failure at the lowest position, nil when OK.
	FirstFailure *Failure `json:"first_failure"`
	// Anchors is how many trusted hashes (checkpoints) were checked.
	Anchors int `json:"checkpoints_checked"`
	// Referenced is how many events were compared with the reference copy.
	Referenced int64 `json:"reference_events_checked,omitempty"`
}

// Anchor is a hash trusted to be the one of the event at Position, such as
// the head hash of a signed checkpoint.
type Anchor struct {
	Position int64
	Hash     string
	// Source names the anchor in failure reasons, e.g. "checkpoint 2026-01-31T09:00:00Z".
	Source string
}

// Options configures [Verify]. The zero value checks the SQLite store's
// rules: one global chain, gap-free positions, no anchors.
type Options struct {
	// Chain is the linking rule. Nil means [GlobalChain].
	Chain ChainRule
	// Hash recomputes an event's hash. Nil means
	// [eventstore.Event.ComputeHash], the SQLite store's encoding.
	Hash func(eventstore.Event) string
	// AllowGaps accepts positions that skip numbers (still strictly
	// increasing), for stores whose global sequence may have holes.
	AllowGaps bool
	// Anchors are trusted hashes to find in the log, in any order.
	Anchors []Anchor
	// Reference is a trusted earlier copy of the log (events in position
	// order). Every event in it must be in the log at the same position
	// with the same hash. Nil means none.
	Reference iter.Seq2[eventstore.Event, error]
	// After starts the check after this position: the first event read
	// must be After+1 and link to AfterHash. Versions are then checked only
	// for streams whose earlier events were read. Used to verify only what
	// was appended since a trusted checkpoint.
	After     int64
	AfterHash string
}

// UnreadableError is yielded by an event source for an event that cannot
// be decoded (a corrupted row or line). After is the position of the last
// event read before it. [Verify] reports it as a failure at After+1 and
// goes on with the events after it.
type UnreadableError struct {
	After int64
	Err   error
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("unreadable event after position %d: %v", e.After, e.Err)
}

func (e *UnreadableError) Unwrap() error { return e.Err }

// Verify reads every event from events, in position order, and checks it.
// It always reads to the end, so Events and Head describe the whole log,
// and reports the failure at the lowest position. An integrity failure is
// not an error: it is in the result. Verify returns an error only when the
// events (or the reference) cannot be read, or ctx ends.
func Verify(ctx context.Context, events iter.Seq2[eventstore.Event, error], opts Options) (Result, error) {
	v := newVerifier(opts)
	var refNext func() (eventstore.Event, error, bool)
	if opts.Reference != nil {
		next, stop := iter.Pull2(opts.Reference)
		defer stop()
		refNext = next
	}
	var (
		ref     eventstore.Event
		refOK   bool
		refDone = opts.Reference == nil
	)
	advanceRef := func() error {
		for !refDone {
			e, err, ok := refNext()
			if !ok {
				refDone, refOK = true, false
				return nil
			}
			if err != nil {
				return fmt.Errorf("verify: read reference: %w", err)
			}
			if e.Position <= opts.After {
				continue
			}
			ref, refOK = e, true
			return nil
		}
		return nil
	}
	if err := advanceRef(); err != nil {
		return Result{}, err
	}

	for ev, err := range events {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return Result{}, ctxErr
		}
		if err != nil {
			var ue *UnreadableError
			if !errors.As(err, &ue) {
				return Result{}, fmt.Errorf("verify: read log: %w", err)
			}
			v.fail(ue.After+1, fmt.Sprintf("the event after position %d cannot be read: %v", ue.After, ue.Err))
			v.skipTo(ue.After + 1)
			continue
		}
		if ev.Position <= opts.After {
			continue
		}
		v.check(&ev)
		// The reference: every event it has before this position is
		// missing from the log; the one at this position must match.
		for refOK && ref.Position < ev.Position {
			v.fail(ref.Position, fmt.Sprintf("the reference copy has an event at position %d (id %s) that the log does not have: it was deleted or the log was rewritten", ref.Position, ref.ID))
			if err := advanceRef(); err != nil {
				return Result{}, err
			}
		}
		if refOK && ref.Position == ev.Position {
			v.res.Referenced++
			if ref.Hash != ev.Hash {
				v.fail(ev.Position, fmt.Sprintf("the event differs from the reference copy (hash %s, reference %s; id %s, reference id %s)",
					short(ev.Hash), short(ref.Hash), ev.ID, ref.ID))
			}
			if err := advanceRef(); err != nil {
				return Result{}, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if refOK {
		v.fail(v.res.Head.Position+1, fmt.Sprintf("the log ends at position %d but the reference copy goes on to position %d or beyond: events were removed from the end or the database was rolled back",
			v.res.Head.Position, ref.Position))
	}
	v.finish()
	return v.res, nil
}

// verifier holds the state of one walk.
type verifier struct {
	opts     Options
	chain    Chain
	res      Result
	last     int64            // position of the last event read (or opts.After)
	versions map[string]int64 // last version seen per stream
	anchors  map[int64][]Anchor
	checked  map[int64]bool
	matched  int64 // position of the last anchor that matched
}

func newVerifier(opts Options) *verifier {
	rule := opts.Chain
	if rule == nil {
		rule = GlobalChain
	}
	v := &verifier{opts: opts, chain: rule(opts.After, opts.AfterHash), last: opts.After,
		versions: map[string]int64{}, anchors: map[int64][]Anchor{}, checked: map[int64]bool{}}
	if opts.After > 0 {
		v.res.Head = Head{Position: opts.After, Hash: opts.AfterHash}
	}
	for _, a := range opts.Anchors {
		v.anchors[a.Position] = append(v.anchors[a.Position], a)
	}
	return v
}

// fail records a failure; the one at the lowest position wins.
func (v *verifier) fail(pos int64, reason string) {
	if v.res.FirstFailure == nil || pos < v.res.FirstFailure.Position {
		v.res.FirstFailure = &Failure{Position: pos, Reason: reason}
	}
}

// skipTo accounts for an unreadable event at pos: the next event may
// follow it without a gap failure, and its link cannot be checked.
func (v *verifier) skipTo(pos int64) {
	if pos > v.last {
		v.last = pos
	}
	v.chain.Lost()
}

func (v *verifier) check(ev *eventstore.Event) {
	v.res.Events++
	want := v.last + 1
	switch {
	case ev.Position == want:
	case ev.Position > want && v.opts.AllowGaps:
	case ev.Position > want:
		v.fail(want, fmt.Sprintf("position %d is missing (the next event is at %d): an event was deleted", want, ev.Position))
	default:
		v.fail(ev.Position, fmt.Sprintf("position %d comes after position %d: the log is out of order", ev.Position, v.last))
	}
	hash := v.opts.Hash
	if hash == nil {
		hash = eventstore.Event.ComputeHash
	}
	if got := hash(*ev); got != ev.Hash {
		v.fail(ev.Position, fmt.Sprintf("the event's hash does not match its content (stored %s, computed %s): the event was altered", short(ev.Hash), short(got)))
	}
	if err := ev.CheckRoundTrip(); err != nil {
		v.fail(ev.Position, fmt.Sprintf("the event does not survive a JSON round trip, so its exported copy cannot verify: %v", err))
	}
	if prev, known := v.chain.Prev(ev); known && ev.PrevHash != prev {
		v.fail(ev.Position, fmt.Sprintf("prev_hash %s does not link to the hash before it (%s): an event was inserted, removed or reordered", short(ev.PrevHash), short(prev)))
	}
	if last, seen := v.versions[ev.Stream]; seen || v.opts.After == 0 {
		if ev.Version != last+1 {
			v.fail(ev.Position, fmt.Sprintf("stream %s has version %d after version %d: its versions are not contiguous", ev.Stream, ev.Version, last))
		}
	}
	v.versions[ev.Stream] = ev.Version
	for _, a := range v.anchors[ev.Position] {
		v.res.Anchors++
		if a.Hash != ev.Hash {
			v.fail(ev.Position, fmt.Sprintf("the hash at position %d (%s) is not the one in %s (%s): the log was rewritten after position %d and at or before this one",
				ev.Position, short(ev.Hash), a.Source, short(a.Hash), v.matched))
		} else {
			v.matched = ev.Position
		}
	}
	v.checked[ev.Position] = true
	v.chain.Link(ev)
	v.last = ev.Position
	v.res.Head = Head{Position: ev.Position, Hash: ev.Hash}
}

// finish reports anchors beyond the end of the log.
func (v *verifier) finish() {
	for pos, as := range v.anchors {
		if pos <= v.opts.After || v.checked[pos] {
			continue
		}
		for _, a := range as {
			v.res.Anchors++
			if pos > v.res.Head.Position {
				v.fail(v.res.Head.Position+1, fmt.Sprintf("the log ends at position %d but %s is at position %d: events were removed from the end or the database was rolled back",
					v.res.Head.Position, a.Source, pos))
			} else {
				v.fail(pos, fmt.Sprintf("position %d of %s is not in the log", pos, a.Source))
			}
		}
	}
	v.res.OK = v.res.FirstFailure == nil
}

// short abbreviates a hex hash for messages.
func short(h string) string {
	if h == "" {
		return `""`
	}
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
