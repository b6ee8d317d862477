package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Read-your-writes across replicas, and readiness with lag (issue 19).
//
// Every replica applies the shared event log to a read model of its own, a
// few milliseconds after the write was acknowledged. A client that writes
// through one replica and reads through another may therefore read a state
// from before its write. Each successful write answers X-Position: the log
// position of the last event it appended. A request that sends
// X-Min-Position: N is served only once this replica's read model has
// applied position N; it waits for that at most [Consistency.MinPositionWait]
// and then answers 503 with code lagging and a Retry-After.
const (
	headerPosition    = "X-Position"
	headerMinPosition = "X-Min-Position"
	codeLagging       = "lagging"
)

// Defaults of [Consistency].
const (
	DefaultMinPositionWait = 5 * time.Second
	DefaultReadyMaxLag     = 10000
	DefaultReadyMaxLagAge  = 30 * time.Second
)

// Consistency configures read-your-writes (X-Min-Position) and what
// GET /readyz calls ready. The zero value uses the defaults.
type Consistency struct {
	// MinPositionWait bounds the wait of a request with X-Min-Position for
	// the read model; 0 means [DefaultMinPositionWait].
	MinPositionWait time.Duration
	// ReadyMaxLag is the largest lag, in events (head minus applied), at
	// which /readyz still answers 200; 0 means [DefaultReadyMaxLag],
	// negative no bound.
	ReadyMaxLag int64
	// ReadyMaxLagAge is how old the oldest event this replica has not yet
	// applied may be for /readyz to answer 200; 0 means
	// [DefaultReadyMaxLagAge], negative no bound. It needs a [Server.Log]
	// that can also read events (ReadAll, as every eventstore.Store does).
	ReadyMaxLagAge time.Duration

	// caughtUp is set the first time the read model has applied the whole
	// log: before that, /readyz answers 503 whatever the lag.
	caughtUp atomic.Bool
}

func (c *Consistency) minPositionWait() time.Duration {
	if c.MinPositionWait > 0 {
		return c.MinPositionWait
	}
	return DefaultMinPositionWait
}

func (c *Consistency) maxLag() int64 {
	if c.ReadyMaxLag == 0 {
		return DefaultReadyMaxLag
	}
	return c.ReadyMaxLag
}

func (c *Consistency) maxLagAge() time.Duration {
	if c.ReadyMaxLagAge == 0 {
		return DefaultReadyMaxLagAge
	}
	return c.ReadyMaxLagAge
}

// awaitMinPosition holds the request until the read model has applied the
// position its X-Min-Position names. A malformed header is refused with
// 400; a read model still behind after the bounded wait answers 503 with
// code lagging.
func (s *Server) awaitMinPosition(w http.ResponseWriter, r *http.Request) error {
	vs := r.Header.Values(headerMinPosition)
	if len(vs) == 0 {
		return nil
	}
	want, err := strconv.ParseInt(vs[0], 10, 64)
	if len(vs) > 1 || err != nil || want < 0 {
		return problemf(domain.EINVALID, "the request is malformed", domain.FieldError{Field: headerMinPosition,
			Message: "must be given once, as a log position (a whole number >= 0), such as the X-Position of an earlier write"})
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Consistency.minPositionWait())
	defer cancel()
	err = s.Reads.WaitFor(ctx, want)
	if err == nil {
		return nil
	}
	if r.Context().Err() != nil {
		return r.Context().Err() // the client has gone
	}
	applied, _ := s.Reads.Checkpoint(r.Context())
	setRetryAfter(w, time.Second)
	return &domain.Error{Code: codeLagging, Err: err, Message: fmt.Sprintf(
		"this replica has applied the log up to position %d, not yet %d (X-Min-Position) after %s; retry, here or on another replica",
		applied, want, s.Consistency.minPositionWait())}
}

// positionNote collects the position of the last event the request
// appended, for its X-Position header.
type positionNote struct{ pos atomic.Int64 }

type positionNoteKey struct{}

func withPositionNote(ctx context.Context) (context.Context, *positionNote) {
	n := &positionNote{}
	return context.WithValue(ctx, positionNoteKey{}, n), n
}

// notePosition records pos for the request of ctx, if it is an API
// request; the largest position wins.
func notePosition(ctx context.Context, pos int64) {
	n, _ := ctx.Value(positionNoteKey{}).(*positionNote)
	if n == nil {
		return
	}
	for {
		old := n.pos.Load()
		if pos <= old || n.pos.CompareAndSwap(old, pos) {
			return
		}
	}
}

// NotePositions returns store with its appends noting, for the API request
// they serve, the position of the last event stored: the request's
// X-Position header. Give it to the command service that the [Server]
// runs. Without it X-Position is this replica's read-model position when
// the write answered, which is at or after the write (a command answers
// once the read model has applied it), so still safe to wait for.
func NotePositions(store eventstore.Store) eventstore.Store { return positionNoter{store} }

type positionNoter struct{ eventstore.Store }

// Unwrap gives the store's optional interfaces (eventstore.MaxAppend) a
// way past the wrapper.
func (s positionNoter) Unwrap() eventstore.Store { return s.Store }

func (s positionNoter) Append(ctx context.Context, stream string, expected int64, events []eventstore.Event) ([]eventstore.Event, error) {
	stored, err := s.Store.Append(ctx, stream, expected, events)
	if err == nil && len(stored) > 0 {
		notePosition(ctx, stored[len(stored)-1].Position)
	}
	return stored, err
}

func (s positionNoter) AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([][]eventstore.Event, error) {
	stored, err := s.Store.AppendStreams(ctx, parts)
	if err == nil {
		for _, evs := range stored {
			if len(evs) > 0 {
				notePosition(ctx, evs[len(evs)-1].Position)
			}
		}
	}
	return stored, err
}

// isWrite reports whether a request of this method may change state.
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

// positionHeader returns the hook that sets X-Position on a successful
// write's answer, just before its header is sent.
func (s *Server) positionHeader(r *http.Request, note *positionNote) func(http.ResponseWriter, int) {
	return func(w http.ResponseWriter, status int) {
		if status < 200 || status > 299 {
			return
		}
		pos := note.pos.Load()
		if pos == 0 {
			var err error
			if pos, err = s.Reads.Checkpoint(r.Context()); err != nil {
				return
			}
		}
		w.Header().Set(headerPosition, strconv.FormatInt(pos, 10))
	}
}

// eventReader is what /readyz needs of [Server.Log] to tell how old the
// oldest unapplied event is (every eventstore.Store has it).
type eventReader interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)
}

// readiness is the body of GET /readyz.
type readiness struct {
	Status   string `json:"status"`   // ready, catching_up, lagging
	Position int64  `json:"position"` // what this replica's read model has applied
	Head     int64  `json:"head"`     // the log's last position
	Lag      int64  `json:"lag"`      // head - position
	// LagSeconds is the age of the oldest event not yet applied, when
	// there is one.
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
	// Applied repeats Position in a 503 (the field's older name).
	Applied *int64 `json:"applied,omitempty"`
}

// handleReady answers 200 when the store answers, the read model has
// applied the whole log once since this process started, and it is now
// behind by no more than [Consistency.ReadyMaxLag] events and
// [Consistency.ReadyMaxLagAge]. Until the first catch-up it waits up to
// 2 s for it, then answers 503 catching_up; a replica that falls behind
// later answers 503 lagging. An unreachable store is 503 unavailable.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	head, _, err := s.Log.Head(r.Context())
	if err != nil {
		return problemf(codeUnavailable, "the event store is unavailable")
	}
	c := &s.Consistency
	if !c.caughtUp.Load() {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		err := s.Reads.WaitFor(ctx, head)
		cancel()
		if err == nil {
			c.caughtUp.Store(true)
		}
	}
	applied, err := s.Reads.Checkpoint(r.Context())
	if err != nil {
		return err
	}
	res := readiness{Status: "ready", Position: applied, Head: head, Lag: max(0, head-applied)}
	switch {
	case !c.caughtUp.Load():
		res.Status = "catching_up"
	case c.maxLag() >= 0 && res.Lag > c.maxLag():
		res.Status = "lagging"
	}
	if er, ok := s.Log.(eventReader); ok && res.Lag > 0 {
		if evs, err := er.ReadAll(r.Context(), applied, 1); err == nil && len(evs) == 1 {
			age := max(0, time.Since(evs[0].Time).Seconds())
			res.LagSeconds = &age
			if res.Status == "ready" && c.maxLagAge() >= 0 && age > c.maxLagAge().Seconds() {
				res.Status = "lagging"
			}
		} else if err != nil && !errors.Is(err, context.Canceled) {
			s.logger().Warn("readyz: could not read the oldest unapplied event", "err", err)
		}
	}
	if res.Status != "ready" {
		res.Applied = &applied
		setRetryAfter(w, time.Second)
		writeJSON(w, http.StatusServiceUnavailable, res)
		return nil
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
