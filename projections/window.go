package projections

import (
	"context"
	"fmt"
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
// bounds that describe it. A review stands for the end of the window it
// considered (its considered_to), and the last review is the one with the
// latest held_on that is not void (see [ReadModel.LastReview]), never
// merely the one recorded last. since: last-review (default; the beginning when
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
			w.After, sb = rv.ConsideredTo, Bound{Kind: BoundReview, Position: rv.ConsideredTo, Review: &rv}
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
		w.After, sb = rv.ConsideredTo, Bound{Kind: BoundReview, Position: rv.ConsideredTo, Review: &rv}
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
		w.Until, ub = rv.ConsideredTo, Bound{Kind: BoundReview, Position: rv.ConsideredTo, Review: &rv}
		if w.Until == 0 {
			w.Until = -1 // the review considered nothing
		}
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
	if ar, ok := reads.(ReviewAsOfReads); ok && (ub.Kind == BoundReview || ub.Kind == BoundPosition) {
		if err := BoundsAsOf(ctx, ar, max(w.Until, 0), &sb, &ub); err != nil {
			return w, sb, ub, err
		}
	}
	return w, sb, ub, nil
}

// ReviewAsOfReads reads a review as it stood at a position
// (implemented by [ReadModel.ReviewAsOf]).
type ReviewAsOfReads interface {
	ReviewAsOf(ctx context.Context, id string, position int64) (ReviewView, error)
}

// BoundsAsOf replaces the review of each bound that has one with the review
// as it stood after position. A closed window (one that ends at a review, a
// position, or a time already past) describes its bounds as of its end, so
// that a correction of a review recorded later never changes what the
// window's answer or report says of it. [ResolveWindow] applies it to the
// windows that end at a review or a position when reads offers
// [ReviewAsOfReads]; the change report also to a past time.
func BoundsAsOf(ctx context.Context, reads ReviewAsOfReads, position int64, bounds ...*Bound) error {
	for _, b := range bounds {
		if b.Review == nil {
			continue
		}
		rv, err := reads.ReviewAsOf(ctx, b.Review.ID, position)
		if err != nil {
			return fmt.Errorf("projections: review %s as of position %d: %w", b.Review.ID, position, err)
		}
		b.Review = &rv
	}
	return nil
}

func badWindowParam(name, msg string) error {
	return &domain.Error{Code: domain.EINVALID, Message: "invalid query parameter",
		Fields: []domain.FieldError{{Field: name, Message: msg}}}
}

// PositionReads is what [ResolvePosition] reads.
type PositionReads interface {
	Review(ctx context.Context, id string) (ReviewView, error)
	PositionAt(ctx context.Context, t time.Time) (int64, error)
}

// ResolvePosition resolves one end of a review's considered window, named
// field in errors: review:<id> (the end of the window that review
// considered), position:<n>, time:<RFC3339> (the last event recorded at or
// before that time) or a date YYYY-MM-DD (the last event recorded on or
// before that UTC day). It returns EINVALID naming field for a malformed
// expression and ENOTFOUND for an unknown review.
func ResolvePosition(ctx context.Context, reads PositionReads, field, expr string) (int64, error) {
	kind, arg, found := strings.Cut(expr, ":")
	switch {
	case found && kind == BoundReview:
		rv, err := reads.Review(ctx, arg)
		if err != nil {
			return 0, err
		}
		return rv.ConsideredTo, nil
	case found && kind == BoundPosition:
		n, err := strconv.ParseInt(arg, 10, 64)
		if err != nil || n < 0 {
			return 0, badField(field, "position must be a whole number >= 0")
		}
		return n, nil
	case found && kind == BoundTime:
		t, err := time.Parse(time.RFC3339Nano, arg)
		if err != nil {
			return 0, badField(field, "time must be RFC 3339, such as 2026-01-31T09:00:00Z")
		}
		return reads.PositionAt(ctx, t)
	case !found:
		d, err := time.Parse(domain.DateLayout, expr)
		if err != nil {
			break
		}
		return reads.PositionAt(ctx, d.AddDate(0, 0, 1).Add(-time.Nanosecond))
	}
	return 0, badField(field, "must be review:<id>, position:<n>, time:<RFC3339> or a date YYYY-MM-DD")
}

func badField(name, msg string) error {
	return &domain.Error{Code: domain.EINVALID, Message: "invalid input",
		Fields: []domain.FieldError{{Field: name, Message: msg}}}
}
