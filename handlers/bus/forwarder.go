package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/partyledger/partyledger/handlers/pipeline"
)

// Log attribute keys.
const (
	logPosition = "position"
	logError    = "error"
	logEventID  = "event_id"
	logHandler  = "handler"
	logType     = "type"
	logRetryIn  = "retry_in"
)

// Changes is the committed-change stream a [Forwarder] follows
// (implemented by *pipeline.Pipeline).
type Changes interface {
	Follow(ctx context.Context, after int64, fn func(ctx context.Context, changes []pipeline.Change) error) error
}

// Positions keeps each forwarder's checkpoint: [Checkpoints] in a local
// SQLite table, or [KVCheckpoints] in a key-value bucket that every replica
// shares, so that a replica taking the forwarding over resumes where the
// previous one stopped. Load returns 0 for a name never saved.
type Positions interface {
	Load(ctx context.Context, name string) (int64, error)
	Save(ctx context.Context, name string, position int64) error
}

// DefaultForwarderName is the checkpoint row of a forwarder without a name.
const DefaultForwarderName = "forwarder"

// saveEvery bounds how many events a crash can make the forwarder publish
// twice: the checkpoint is saved at least this often inside a batch.
const saveEvery = 64

// Forwarder publishes every stored event on the bus, in position order,
// after it is durably stored and applied: it follows the committed-change
// stream (handlers/pipeline) from its checkpoint, publishes each event with
// [NewMessage] on [Topic] of its type, and saves the position of the last
// published event in [Checkpoints] after the publish returned.
//
// Nothing is lost between store and bus: after a crash or a failed publish
// the forwarder resumes from the saved position, so events published after
// the last save are published again (at-least-once). Duplicates carry the
// same message UUID (the event id); on NATS JetStream de-duplicates them
// within the stream's duplicate window.
type Forwarder struct {
	// Name is the checkpoint row; empty means [DefaultForwarderName].
	Name        string
	Changes     Changes
	Publisher   message.Publisher
	Checkpoints Positions
	// Source is the CloudEvents source; empty means [DefaultSource].
	Source string
	// Logger receives publish failures (Warn) and progress (Debug). Nil
	// discards.
	Logger *slog.Logger
	// RetryDelay is the first pause after a failure; it doubles up to 30 s.
	// Zero means 200 ms.
	RetryDelay time.Duration

	position atomic.Int64 // last published and saved
}

func (f *Forwarder) name() string {
	if f.Name == "" {
		return DefaultForwarderName
	}
	return f.Name
}

func (f *Forwarder) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

// Position returns the position of the last event published and
// checkpointed by Run.
func (f *Forwarder) Position() int64 { return f.position.Load() }

// Run forwards events until ctx is done, then returns ctx.Err(). A failure
// (the store, the publisher, the checkpoint database) is logged and retried
// from the saved checkpoint after a pause that doubles up to 30 s.
func (f *Forwarder) Run(ctx context.Context) error {
	delay := f.RetryDelay
	if delay <= 0 {
		delay = 200 * time.Millisecond
	}
	wait := delay
	for {
		progressed, err := f.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if progressed {
			wait = delay
		}
		f.logger().Warn("event bus forwarder failed; resuming from checkpoint", logPosition, f.Position(), logError, err, logRetryIn, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// session runs one subscription from the checkpoint until it fails.
func (f *Forwarder) session(ctx context.Context) (progressed bool, err error) {
	after, err := f.Checkpoints.Load(ctx, f.name())
	if err != nil {
		return false, err
	}
	f.position.Store(after)
	f.logger().Debug("event bus forwarder following the log", logPosition, after)
	err = f.Changes.Follow(ctx, after, func(ctx context.Context, changes []pipeline.Change) error {
		unsaved := 0
		for i := range changes {
			ev := &changes[i].Event
			msg, err := NewMessage(*ev, f.Source)
			if err != nil {
				return err
			}
			if err := f.Publisher.Publish(Topic(ev.Type), msg); err != nil {
				return fmt.Errorf("publish event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
			}
			unsaved++
			if unsaved == saveEvery || i == len(changes)-1 {
				if err := f.Checkpoints.Save(ctx, f.name(), ev.Position); err != nil {
					return err
				}
				f.position.Store(ev.Position)
				progressed, unsaved = true, 0
			}
		}
		return nil
	})
	if err == nil {
		err = errors.New("subscription ended")
	}
	return progressed, err
}
