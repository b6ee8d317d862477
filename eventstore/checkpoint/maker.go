package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/partyledger/partyledger/eventstore/verify"
)

// Log is what the [Maker] reads: the head to sign and the events to check
// before signing. [eventstore.Store] has both.
type Log interface {
	verify.Reader
	Head(ctx context.Context) (position int64, hash string, err error)
}

// Keeper keeps the checkpoints made: [Table] in the event log's SQLite
// file, or [KVTable] in a bucket shared by the replicas of a service on
// NATS. Add keeps the first checkpoint stored at a position; Latest
// returns the one at the highest position (ok false when there is none);
// List returns all, by position.
type Keeper interface {
	Add(ctx context.Context, s Stored) error
	Latest(ctx context.Context) (s Stored, ok bool, err error)
	List(ctx context.Context) ([]Stored, error)
}

// Defaults for [Maker].
const (
	DefaultEveryEvents = 1000
	DefaultEvery       = 10 * time.Minute
	DefaultOrigin      = "partyledger"
)

// ErrNotExtended is returned by [Maker.Make] when the log does not extend
// the last checkpoint intact: the events since it fail verification, so no
// new checkpoint is signed over them.
var ErrNotExtended = errors.New("checkpoint: the log does not extend the last checkpoint intact")

// Maker signs a checkpoint of the log every EveryEvents events or Every,
// whichever comes first, and keeps it in Table. Before signing it verifies
// the events appended since the last checkpoint, so it never signs a log
// that was altered behind the last checkpoint. It is safe for concurrent
// use.
type Maker struct {
	Log    Log
	Signer *Signer
	Table  Keeper
	// Origin is the note's first line; empty means [DefaultOrigin].
	Origin string
	// EveryEvents and Every trigger a new checkpoint; zero means the
	// defaults. A checkpoint is only made when the head has moved.
	EveryEvents int64
	Every       time.Duration
	// Rules are how the log hashes and links its events (Chain, Hash,
	// AllowGaps); the zero value is the SQLite store's.
	Rules verify.Options
	// Now returns the signing time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	mu      sync.Mutex
	started time.Time
}

func (m *Maker) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Maker) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Make signs and stores a checkpoint of the current head if the head has
// moved since the last checkpoint, and returns the latest checkpoint (made
// is false when it already covered the head, or the log is empty: then ok
// is false if there is none). It returns [ErrNotExtended] (wrapped, with
// the failure) when the events since the last checkpoint do not verify.
func (m *Maker) Make(ctx context.Context) (s Stored, made bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.makeLocked(ctx, false)
}

// MakeIfDue is [Maker.Make] when a checkpoint is due: EveryEvents events or
// Every time since the last one (or since the Maker's first call, when
// there is none yet).
func (m *Maker) MakeIfDue(ctx context.Context) (s Stored, made bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.makeLocked(ctx, true)
}

func (m *Maker) makeLocked(ctx context.Context, onlyIfDue bool) (Stored, bool, error) {
	if m.started.IsZero() {
		m.started = m.now()
	}
	last, ok, err := m.Table.Latest(ctx)
	if err != nil {
		return Stored{}, false, err
	}
	head, hash, err := m.Log.Head(ctx)
	if err != nil {
		return Stored{}, false, fmt.Errorf("checkpoint: head: %w", err)
	}
	if head == 0 || (ok && head <= last.Position) {
		return last, false, nil
	}
	if onlyIfDue {
		every, everyEvents := m.Every, m.EveryEvents
		if every <= 0 {
			every = DefaultEvery
		}
		if everyEvents <= 0 {
			everyEvents = DefaultEveryEvents
		}
		since := m.started
		if ok {
			since = last.Time
		}
		// A log that has never been signed is signed at once, so that a
		// new installation (or a demo) has a checkpoint from the start.
		if ok && head-last.Position < everyEvents && m.now().Sub(since) < every {
			return last, false, nil
		}
	}
	opts := verify.Options{Chain: m.Rules.Chain, Hash: m.Rules.Hash, AllowGaps: m.Rules.AllowGaps,
		Anchors: []verify.Anchor{{Position: head, Hash: hash, Source: "the head being signed"}}}
	if ok {
		opts.After, opts.AfterHash = last.Position, last.Hash
	}
	res, err := verify.Verify(ctx, verify.FromStore(ctx, m.Log, opts.After, 0), opts)
	if err != nil {
		return Stored{}, false, fmt.Errorf("checkpoint: verify since position %d: %w", opts.After, err)
	}
	if !res.OK {
		m.logger().Error("refusing to sign a checkpoint: the log does not verify",
			slog.Int64("since", opts.After), slog.Int64("position", res.FirstFailure.Position),
			slog.String("reason", res.FirstFailure.Reason))
		return last, false, fmt.Errorf("%w: position %d: %s", ErrNotExtended, res.FirstFailure.Position, res.FirstFailure.Reason)
	}
	origin := m.Origin
	if origin == "" {
		origin = DefaultOrigin
	}
	c := Checkpoint{Origin: origin, Position: head, Hash: hash, Time: m.now()}
	note, err := m.Signer.Sign(c)
	if err != nil {
		return Stored{}, false, err
	}
	s := Stored{Checkpoint: c, Note: note}
	if err := m.Table.Add(ctx, s); err != nil {
		return Stored{}, false, err
	}
	m.logger().Info("signed a checkpoint", slog.Int64("position", head), slog.String("hash", hash))
	return s, true, nil
}

// Run calls [Maker.MakeIfDue] every poll until ctx is done, then makes a
// last checkpoint of the head (with a short timeout of its own) so that a
// restart finds the log covered. Failures are logged, and Run goes on.
func (m *Maker) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, _, err := m.MakeIfDue(ctx); err != nil && ctx.Err() == nil {
			m.logger().Error("checkpoint failed", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			if _, _, err := m.Make(fctx); err != nil {
				m.logger().Warn("final checkpoint failed", slog.Any("err", err))
			}
			cancel()
			return
		case <-t.C:
		}
	}
}
