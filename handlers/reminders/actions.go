package reminders

import (
	"context"
	"fmt"

	"github.com/partyledger/partyledger/projections"
)

// ActionReads is the read model's list of management-review actions
// (implemented by *projections.ReadModel).
type ActionReads interface {
	Actions(ctx context.Context, status, today string) ([]projections.ActionView, error)
}

// ReviewActions is the [Actions] of the read model: the open actions of
// the reviews that are not void, with their owner and due date.
type ReviewActions struct {
	Reads ActionReads
}

// OpenActions returns the open actions (overdue ones included).
func (r ReviewActions) OpenActions(ctx context.Context) ([]OpenAction, error) {
	vs, err := r.Reads.Actions(ctx, projections.ActionsOpen, "")
	if err != nil {
		return nil, fmt.Errorf("open actions: %w", err)
	}
	out := make([]OpenAction, 0, len(vs))
	for _, v := range vs {
		out = append(out, OpenAction{ID: v.ID, ReviewID: v.ReviewID, Title: v.Title, Owner: v.Owner, DueOn: v.DueOn})
	}
	return out, nil
}
