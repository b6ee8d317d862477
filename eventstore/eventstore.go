// Package eventstore defines the append-only event log that partyledger keeps:
// the [Event] envelope, the [Store] interface every backend implements, and the
// errors callers branch on.
//
// # Ordering
//
// Every stored event has a 1-based Version inside its stream (the aggregate it
// belongs to) and a global Position that is strictly increasing across the whole
// store. Positions are gap-free in the SQLite store. Readers that keep a
// checkpoint remember the last Position they handled and resume after it.
//
// # Integrity
//
// Each event carries Hash = SHA-256 over a canonical encoding of all other
// fields including PrevHash (see [Event.ComputeHash]). In the SQLite store the
// chain runs in global position order: PrevHash is the Hash of the event at
// Position-1 (empty for the first event).
package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Expected-version sentinels for [Store.Append].
const (
	// NoStream expects the stream to have no events yet.
	NoStream int64 = 0
	// AnyVersion disables the optimistic concurrency check.
	AnyVersion int64 = -1
)

// Event is the envelope of one immutable fact. Field names follow DESIGN.md and,
// where they fit, CloudEvents 1.0 attribute names.
type Event struct {
	ID            string    `json:"id"`       // UUIDv7, the idempotency key
	Stream        string    `json:"stream"`   // "party-<uuid>", "review-<uuid>", ...
	Version       int64     `json:"version"`  // 1-based position inside Stream
	Position      int64     `json:"position"` // global, strictly increasing
	Type          string    `json:"type"`     // "party.identified", ...
	Schema        int       `json:"schema"`   // version of the Data shape
	Time          time.Time `json:"time"`     // set by the server, UTC
	Actor         string    `json:"actor"`
	Reason        string    `json:"reason"`
	Trigger       string    `json:"trigger"`
	CorrelationID string    `json:"correlation_id"`
	CausationID   string    `json:"causation_id"`
	// EffectiveOn is the date (YYYY-MM-DD) the change took effect in the
	// world, when the caller said so; empty means the recording date (the
	// UTC date of Time), which is how every event recorded before the field
	// existed reads. See [Event.EffectiveDate].
	EffectiveOn string          `json:"effective_on,omitempty"`
	Data        json.RawMessage `json:"data"`
	PrevHash    string          `json:"prev_hash"`
	Hash        string          `json:"hash"`
}

// Store is the append-only event log.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Append atomically appends events to stream: either all of them are stored
	// or none. expectedVersion is the stream's current version as the caller
	// last saw it ([NoStream] for a new stream, [AnyVersion] to skip the
	// check). The caller fills ID, Type, Schema, Time, Actor, Reason, Trigger,
	// CorrelationID, CausationID, EffectiveOn and Data; the store assigns Stream, Version,
	// Position, PrevHash and Hash and returns the events as stored.
	//
	// Returns a *[ConflictError] (matching [ErrConflict]) if expectedVersion is
	// not the stream's version, an error matching [ErrInvalid] for malformed
	// events, and [ErrClosed] after Close. Nothing is written on any error.
	Append(ctx context.Context, stream string, expectedVersion int64, events []Event) ([]Event, error)

	// AppendStreams atomically appends to several streams at once: either
	// every part is stored or none. Each part names its own stream and
	// expected version, checked as [Store.Append] checks it; the events of
	// the parts get consecutive positions in the order of parts. It is the
	// way to keep a rule that spans aggregates (a name reservation stream
	// beside the party that claims the name, an import of many parties) in
	// one all-or-nothing write. A stream may appear in one part only.
	//
	// It returns the stored events of each part, in the order of parts. The
	// errors are those of Append: a *[ConflictError] for the first part
	// whose expected version is wrong (and nothing written), an error
	// matching [ErrInvalid] for malformed input (no parts, a part without
	// events, a stream named twice), [ErrClosed] after Close.
	AppendStreams(ctx context.Context, parts []StreamAppend) ([][]Event, error)

	// ReadStream returns the events of stream with Version >= fromVersion, in
	// version order. A stream with no events yields an empty slice, not an error.
	ReadStream(ctx context.Context, stream string, fromVersion int64) ([]Event, error)

	// ReadAll returns up to limit events with Position > after, in position order.
	ReadAll(ctx context.Context, after int64, limit int) ([]Event, error)

	// Head returns the position and hash of the last stored event (0 and "" when
	// the store is empty).
	Head(ctx context.Context) (position int64, hash string, err error)

	// Subscribe is a catch-up subscription: it calls fn with every event with
	// Position > after, in position order and in batches, then keeps following
	// new appends until ctx is done or fn returns an error. Each event is passed
	// to fn exactly once per Subscribe call. It returns ctx.Err() when ctx is
	// cancelled, or the error that fn or the store returned.
	Subscribe(ctx context.Context, after int64, fn func(ctx context.Context, events []Event) error) error

	// Close releases the store's resources. Appends in flight finish first.
	Close() error
}

// AppendLimiter is implemented by a store that takes at most MaxAppend()
// events in one atomic append (JetStream's atomic batch: 1,000). A store
// without it takes any number.
type AppendLimiter interface {
	MaxAppend() int
}

// MaxAppend returns the most events st takes in one atomic append, or 0 for
// no limit. Callers that build big appends (an import) check it first, so
// that they can say how to split the work rather than fail in the store.
//
// A store that wraps another (to observe appends, say) exposes the inner
// one with an Unwrap() Store method, which MaxAppend follows.
func MaxAppend(st Store) int {
	for st != nil {
		if l, ok := st.(AppendLimiter); ok {
			return l.MaxAppend()
		}
		u, ok := st.(interface{ Unwrap() Store })
		if !ok {
			return 0
		}
		st = u.Unwrap()
	}
	return 0
}

// StreamAppend is one stream's part of [Store.AppendStreams].
type StreamAppend struct {
	Stream          string
	ExpectedVersion int64
	Events          []Event
}

// CheckParts validates the shape of an [Store.AppendStreams] call that
// does not depend on the backend: at least one part, no stream named
// twice. Backends call it before validating each part as Append does.
func CheckParts(parts []StreamAppend) error {
	if len(parts) == 0 {
		return fmt.Errorf("%w: no streams to append to", ErrInvalid)
	}
	seen := make(map[string]bool, len(parts))
	for _, p := range parts {
		if seen[p.Stream] {
			return fmt.Errorf("%w: stream %s named twice in one append", ErrInvalid, p.Stream)
		}
		seen[p.Stream] = true
	}
	return nil
}

// Errors callers branch on with errors.Is.
var (
	// ErrConflict: the stream's version was not the expected one.
	ErrConflict = errors.New("eventstore: wrong expected version")
	// ErrInvalid: an event was malformed (missing id or type, bad data).
	ErrInvalid = errors.New("eventstore: invalid event")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("eventstore: closed")
	// ErrUnavailable: the backing store cannot be reached right now.
	ErrUnavailable = errors.New("eventstore: unavailable")
)

// ConflictError reports an optimistic concurrency failure. It matches
// [ErrConflict].
type ConflictError struct {
	Stream   string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: stream %s: expected version %d, actual %d", e.Stream, e.Expected, e.Actual)
}

// Is reports whether target is [ErrConflict].
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }
