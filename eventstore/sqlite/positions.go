package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/partyledger/partyledger/eventstore"
)

// MaxReadPositions is the most positions [Store.ReadPositions] takes at once.
const MaxReadPositions = 1000

// ReadPositions returns the events at the given positions, in position
// order, in one query: the audit trail looks up the events an index
// selected. Positions with no event are left out. It returns an error
// matching [eventstore.ErrInvalid] for more than [MaxReadPositions]
// positions; other errors are as for [Store.ReadStream].
func (s *Store) ReadPositions(ctx context.Context, positions []int64) ([]eventstore.Event, error) {
	if len(positions) == 0 {
		return nil, nil
	}
	if len(positions) > MaxReadPositions {
		return nil, fmt.Errorf("sqlite: read positions: %w: %d positions (at most %d)", eventstore.ErrInvalid, len(positions), MaxReadPositions)
	}
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	args := make([]any, len(positions))
	for i, p := range positions {
		args[i] = p
	}
	q := selectEvents + `WHERE position IN (?` + strings.Repeat(`, ?`, len(positions)-1) + `) ORDER BY position`
	evs, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %d positions: %w", len(positions), err)
	}
	return evs, nil
}

// Path returns the file the store was opened on, for features that keep
// their files beside it (such as the checkpoint key).
func (s *Store) Path() string { return s.path }
