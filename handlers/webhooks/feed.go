package webhooks

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/pipeline"
)

// Changes is the committed-change stream the feed follows (implemented by
// *pipeline.Pipeline).
type Changes interface {
	Committed() int64
	Follow(ctx context.Context, after int64, fn func(ctx context.Context, changes []pipeline.Change) error) error
}

// Notification is one committed event of the log with its feed item (nil
// for events that are not feed items, such as management reviews).
type Notification = pipeline.Change

// DefaultMaxWatches bounds the live streams a [Feed] serves at once.
const DefaultMaxWatches = 256

// ErrBusy is returned by [Feed.Watch] when too many streams are open. It
// matches eventstore.ErrUnavailable, which the API answers with 503.
var ErrBusy = fmt.Errorf("%w: too many open change streams", eventstore.ErrUnavailable)

// Feed gives the webhook workers and the live streams the committed-change
// stream of the pipeline (handlers/pipeline): each follows it from a
// position of its own, so a notification always shows the names the
// register had after the event. It is safe for concurrent use.
type Feed struct {
	Changes Changes
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

// Head returns the position of the last committed change: where a live
// stream without a position starts.
func (f *Feed) Head(context.Context) (int64, error) {
	return f.Changes.Committed(), nil
}

// Follow calls fn with every committed change after position after, in
// order and in batches, then keeps following new ones until ctx is done (it
// returns ctx.Err()) or fn or a read fails (it returns that error).
func (f *Feed) Follow(ctx context.Context, after int64, fn func(ctx context.Context, batch []Notification) error) error {
	return f.Changes.Follow(ctx, after, fn)
}

// Watch is one live stream of change items, opened by [Feed.Watch].
type Watch struct {
	// C receives the matching items, in position order, in batches. It is
	// closed when the stream ends; Err then says why.
	C <-chan []pipeline.Item

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
	c := make(chan []pipeline.Item)
	w := &Watch{C: c, done: make(chan struct{})}
	go func() {
		defer func() { <-f.sem }()
		defer close(w.done)
		defer close(c)
		defer cancel(nil)
		err := f.Follow(ctx, after, func(ctx context.Context, batch []Notification) error {
			var items []pipeline.Item
			for _, n := range batch {
				if n.Item != nil && filter.MatchItem(n.Item) {
					items = append(items, *n.Item)
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
