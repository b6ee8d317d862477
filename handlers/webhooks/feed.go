package webhooks

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/projections"
)

// Log is what the feed needs from the event store.
type Log interface {
	Head(ctx context.Context) (position int64, hash string, err error)
	Subscribe(ctx context.Context, after int64, fn func(ctx context.Context, events []eventstore.Event) error) error
}

// ChangeReader is what the feed needs from the read model
// (implemented by *projections.ReadModel).
type ChangeReader interface {
	WaitFor(ctx context.Context, position int64) error
	Changes(ctx context.Context, w projections.Window) ([]projections.ChangeItem, error)
}

// Notification is one event of the log with its feed item (nil for events
// that are not feed items, such as management reviews).
type Notification struct {
	Event  eventstore.Event
	Change *projections.ChangeItem
}

// DefaultMaxWatches bounds the live streams a [Feed] serves at once.
const DefaultMaxWatches = 256

// ErrBusy is returned by [Feed.Watch] when too many streams are open. It
// matches eventstore.ErrUnavailable, which the API answers with 503.
var ErrBusy = fmt.Errorf("%w: too many open change streams", eventstore.ErrUnavailable)

// Feed follows the event log and pairs each event with its change item. It
// reads the log itself (a catch-up subscription from any position), then
// waits until the read model has applied each batch and reads the batch's
// items from it, so a notification always shows the names the register had
// after the event. It is safe for concurrent use.
type Feed struct {
	Log   Log
	Reads ChangeReader
	// MaxWatches bounds concurrent [Feed.Watch] streams; 0 means
	// [DefaultMaxWatches].
	MaxWatches int

	once    sync.Once
	sem     chan struct{}
	stopped chan struct{}
	stop    sync.Once
}

func (f *Feed) init() {
	f.once.Do(func() {
		n := f.MaxWatches
		if n <= 0 {
			n = DefaultMaxWatches
		}
		f.sem = make(chan struct{}, n)
		f.stopped = make(chan struct{})
	})
}

// Stop ends every stream of [Feed.Watch] (at server shutdown, so that
// long-lived responses do not hold the shutdown up) and refuses new ones.
func (f *Feed) Stop() {
	f.init()
	f.stop.Do(func() { close(f.stopped) })
}

// Head returns the position of the last event in the log.
func (f *Feed) Head(ctx context.Context) (int64, error) {
	pos, _, err := f.Log.Head(ctx)
	return pos, err
}

// Follow calls fn with every event after position after, in order and in
// batches, each with its change item, then keeps following new events until
// ctx is done (it returns ctx.Err()) or fn or a read fails (it returns that
// error).
func (f *Feed) Follow(ctx context.Context, after int64, fn func(ctx context.Context, batch []Notification) error) error {
	return f.Log.Subscribe(ctx, after, func(ctx context.Context, events []eventstore.Event) error {
		if len(events) == 0 {
			return nil
		}
		batch, err := f.notifications(ctx, events)
		if err != nil {
			return err
		}
		return fn(ctx, batch)
	})
}

func (f *Feed) notifications(ctx context.Context, events []eventstore.Event) ([]Notification, error) {
	first, last := events[0].Position, events[len(events)-1].Position
	if err := f.Reads.WaitFor(ctx, last); err != nil {
		return nil, fmt.Errorf("webhooks: wait for the read model: %w", err)
	}
	items, err := f.Reads.Changes(ctx, projections.Window{After: first - 1, Until: last})
	if err != nil {
		return nil, fmt.Errorf("webhooks: read change items %d-%d: %w", first, last, err)
	}
	byPos := make(map[int64]*projections.ChangeItem, len(items))
	for i := range items {
		byPos[items[i].Position] = &items[i]
	}
	out := make([]Notification, len(events))
	for i, ev := range events {
		out[i] = Notification{Event: ev, Change: byPos[ev.Position]}
	}
	return out, nil
}

// Watch is one live stream of change items, opened by [Feed.Watch].
type Watch struct {
	// C receives the matching items, in position order, in batches. It is
	// closed when the stream ends; Err then says why.
	C <-chan []projections.ChangeItem

	err  error
	done chan struct{}
}

// Err returns why the stream ended (after C is closed): the context's error
// when it was cancelled, ErrStopped when the feed was stopped, or a read
// error.
func (w *Watch) Err() error {
	<-w.done
	return w.err
}

// ErrStopped ends the streams of a stopped [Feed].
var ErrStopped = errors.New("webhooks: the change feed has stopped")

// Watch opens a stream of the change items after position after that pass
// filter. It ends when ctx is done or the feed is stopped. It returns
// [ErrBusy] when [Feed.MaxWatches] streams are open.
func (f *Feed) Watch(ctx context.Context, after int64, filter Filter) (*Watch, error) {
	f.init()
	select {
	case <-f.stopped:
		return nil, ErrStopped
	default:
	}
	select {
	case f.sem <- struct{}{}:
	default:
		return nil, ErrBusy
	}
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-f.stopped:
			cancel(ErrStopped)
		case <-ctx.Done():
		}
	}()
	c := make(chan []projections.ChangeItem)
	w := &Watch{C: c, done: make(chan struct{})}
	go func() {
		defer func() { <-f.sem }()
		defer close(w.done)
		defer close(c)
		defer cancel(nil)
		err := f.Follow(ctx, after, func(ctx context.Context, batch []Notification) error {
			var items []projections.ChangeItem
			for _, n := range batch {
				if n.Change != nil && filter.MatchItem(n.Change) {
					items = append(items, *n.Change)
				}
			}
			if len(items) == 0 {
				return nil
			}
			select {
			case c <- items:
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
			err = cause
		}
		w.err = err
	}()
	return w, nil
}
