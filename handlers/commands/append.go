package commands

import (
	"context"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// append appends events decided outside [execute] to one stream with the
// expected version, through the same envelope wrapping and atomic commit,
// and waits for the read model. A command that decided nothing appends
// nothing.
//
// It serves the review commands, which fold their streams without the fold
// cache (reviews are few and rarely written).
func (s *Service) append(ctx context.Context, stream string, expected int64, meta domain.Meta, events []domain.Event, now time.Time) (Result, error) {
	res := Result{Stream: stream}
	if err := meta.CheckEffectiveOn(now); err != nil {
		return res, err
	}
	if len(events) == 0 {
		return res, nil
	}
	stored, err := s.commit(ctx, meta, now, []part{{stream: stream, expected: expected, events: events}})
	if err != nil {
		return res, err
	}
	mine := stored[0]
	last := mine[len(mine)-1]
	res.Events, res.Version, res.Position = mine, last.Version, last.Position
	return res, s.wait(ctx, stream, res.Position)
}
