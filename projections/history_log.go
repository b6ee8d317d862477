package projections

import (
	"context"
	"fmt"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// StreamReader reads one stream of the log; [eventstore.Store] has it.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, fromVersion int64) ([]eventstore.Event, error)
}

// HistoryFromLog returns what [ReadModel.History] returns, computed from
// the party's stream alone without a read model: the feed items of the
// party's events (or of one requirement's, with requirementID), oldest
// first. It returns ENOTFOUND when there are none.
func HistoryFromLog(ctx context.Context, r StreamReader, partyID, requirementID string) ([]ChangeItem, error) {
	evs, err := r.ReadStream(ctx, domain.PartyID(partyID).Stream(), 1)
	if err != nil {
		return nil, fmt.Errorf("projections: history of %s: %w", partyID, err)
	}
	f := newFeed()
	var out []ChangeItem
	for i := range evs {
		ev := &evs[i]
		de, err := decode(ev)
		if err != nil {
			return nil, fmt.Errorf("projections: history: event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
		}
		pid, rid, ok := target(de)
		if !ok || string(pid) != partyID {
			continue
		}
		// What the feed would find in an empty table: the party (and the
		// requirement) known by id alone until its identification.
		if _, seen := f.parties[string(pid)]; !seen {
			f.parties[string(pid)] = &partyRefState{ref: PartyRef{ID: string(pid)}}
		}
		if _, seen := f.reqs[string(rid)]; rid != "" && !seen {
			f.reqs[string(rid)] = &reqRefState{partyID: string(pid), ref: RequirementRef{ID: string(rid)}}
		}
		it, ok, err := f.item(ctx, ev, de)
		if err != nil {
			return nil, fmt.Errorf("projections: history: %w", err)
		}
		if !ok || (requirementID != "" && string(rid) != requirementID) {
			continue
		}
		if it.Changes, err = normalizeChanges(it.Changes); err != nil {
			return nil, fmt.Errorf("projections: history: %w", err)
		}
		it.Time = ev.Time.UTC()
		out = append(out, it)
	}
	if len(out) == 0 {
		if requirementID != "" {
			return nil, notFound("no requirement %s of party %s", requirementID, partyID)
		}
		return nil, notFound("no party %s", partyID)
	}
	return out, nil
}
