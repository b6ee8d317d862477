package projections

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// Bound is one end of a change window as a response or a report describes
// it.
type Bound struct {
	Kind     string      `json:"kind"` // beginning | review | position | time | now
	Position int64       `json:"position,omitempty"`
	Time     *time.Time  `json:"time,omitempty"`
	Review   *ReviewView `json:"review,omitempty"`
}

// Kinds of [Bound].
const (
	BoundBeginning = "beginning"
	BoundReview    = "review"
	BoundPosition  = "position"
	BoundTime      = "time"
	BoundNow       = "now"
)

// WindowReads is what [ResolveWindow] reads: the reviews that bound a
// window, and the position the read model has applied ("now").
type WindowReads interface {
	LastReview(ctx context.Context) (ReviewView, bool, error)
	Review(ctx context.Context, id string) (ReviewView, error)
	Checkpoint(ctx context.Context) (int64, error)
}

// ResolveWindow resolves the since/until expressions of the change feed
// (GET /api/v1/changes, the change report, the CLI) into a [Window] and the
// bounds that describe it. since: last-review (default; the beginning when
// no review was held), beginning, review:<id>, position:<n>,
// time:<RFC3339>. until: now (default: the read model's checkpoint),
// review:<id>, position:<n>, time:<RFC3339>. Windows exclude since and
// include until. until=position:0 selects nothing, which the window marks
// with Until = -1: callers must not query the feed then.
//
// It returns EINVALID (naming the parameter) for a malformed expression and
// ENOTFOUND for an unknown review.
func ResolveWindow(ctx context.Context, reads WindowReads, since, until string) (Window, Bound, Bound, error) {
	var w Window
	var sb, ub Bound
	switch kind, arg, _ := strings.Cut(since, ":"); kind {
	case "", "last-review":
		rv, ok, err := reads.LastReview(ctx)
		if err != nil {
			return w, sb, ub, err
		}
		if ok {
			w.After, sb = rv.Position, Bound{Kind: BoundReview, Position: rv.Position, Review: &rv}
		} else {
			sb = Bound{Kind: BoundBeginning}
		}
	case BoundBeginning:
		sb = Bound{Kind: BoundBeginning}
	case BoundReview:
		rv, err := reads.Review(ctx, arg)
		if err != nil {
			return w, sb, ub, err
		}
		w.After, sb = rv.Position, Bound{Kind: BoundReview, Position: rv.Position, Review: &rv}
	case BoundPosition:
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			return w, sb, ub, badWindowParam("since", "position must be a whole number >= 0")
		}
		w.After, sb = n, Bound{Kind: BoundPosition, Position: n}
	case BoundTime:
		t, err := time.Parse(time.RFC3339Nano, arg)
		if err != nil {
			return w, sb, ub, badWindowParam("since", "time must be RFC 3339, such as 2026-01-31T09:00:00Z")
		}
		t = t.UTC()
		w.FromTime, sb = t, Bound{Kind: BoundTime, Time: &t}
	default:
		return w, sb, ub, badWindowParam("since", "must be last-review, beginning, review:<id>, position:<n> or time:<RFC3339>")
	}
	switch kind, arg, _ := strings.Cut(until, ":"); kind {
	case "", BoundNow:
		cp, err := reads.Checkpoint(ctx)
		if err != nil {
			return w, sb, ub, err
		}
		w.Until, ub = cp, Bound{Kind: BoundNow, Position: cp}
	case BoundReview:
		rv, err := reads.Review(ctx, arg)
		if err != nil {
			return w, sb, ub, err
		}
		w.Until, ub = rv.Position, Bound{Kind: BoundReview, Position: rv.Position, Review: &rv}
	case BoundPosition:
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			return w, sb, ub, badWindowParam("until", "position must be a whole number >= 0")
		}
		w.Until, ub = n, Bound{Kind: BoundPosition, Position: n}
		if n == 0 {
			w.Until = -1 // nothing: position 0 is before the first event
		}
	case BoundTime:
		t, err := time.Parse(time.RFC3339Nano, arg)
		if err != nil {
			return w, sb, ub, badWindowParam("until", "time must be RFC 3339, such as 2026-01-31T09:00:00Z")
		}
		t = t.UTC()
		w.UntilTime, ub = t, Bound{Kind: BoundTime, Time: &t}
	default:
		return w, sb, ub, badWindowParam("until", "must be now, review:<id>, position:<n> or time:<RFC3339>")
	}
	return w, sb, ub, nil
}

func badWindowParam(name, msg string) error {
	return &domain.Error{Code: domain.EINVALID, Message: "invalid query parameter",
		Fields: []domain.FieldError{{Field: name, Message: msg}}}
}
