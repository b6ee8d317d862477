package projections

import (
	"context"
	"fmt"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// StreamReader reads one stream of the log; [eventstore.Store] has it.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, fromVersion int64) ([]eventstore.Event, error)
}

// HistoryFromLog returns what [ReadModel.History] returns, computed from
// the log alone without a read model: the feed items of the party's events
// (or of one requirement's, with requirementID), oldest first. When r can
// also read the whole log ([EventReader], as every store can), the party's
// history includes the events of the relationships it is an end of, in
// either direction, with both parties named as they were then, as the API's
// history does; otherwise it is the party's stream alone. It returns
// ENOTFOUND when there are none.
func HistoryFromLog(ctx context.Context, r StreamReader, partyID, requirementID string) ([]ChangeItem, error) {
	f := newFeed()
	var out []ChangeItem
	one := func(ev *eventstore.Event) error {
		it, ok, err := historyItem(ctx, f, ev, partyID, requirementID)
		if err != nil || !ok {
			return err
		}
		out = append(out, it)
		return nil
	}
	if er, ok := r.(EventReader); ok && requirementID == "" {
		rels := map[string]bool{} // the relationships the party is an end of
		for after := int64(0); ; {
			evs, err := er.ReadAll(ctx, after, foldBatch)
			if err != nil {
				return nil, fmt.Errorf("projections: history of %s: %w", partyID, err)
			}
			if len(evs) == 0 {
				break
			}
			for i := range evs {
				ev := &evs[i]
				after = ev.Position
				if err := historyLogEvent(ctx, f, ev, partyID, rels, one); err != nil {
					return nil, err
				}
			}
		}
	} else {
		evs, err := r.ReadStream(ctx, domain.PartyID(partyID).Stream(), 1)
		if err != nil {
			return nil, fmt.Errorf("projections: history of %s: %w", partyID, err)
		}
		for i := range evs {
			if err := one(&evs[i]); err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		if requirementID != "" {
			return nil, notFound("no requirement %s of party %s", requirementID, partyID)
		}
		return nil, notFound("no party %s", partyID)
	}
	return out, nil
}

// historyLogEvent handles one event of the whole log for [HistoryFromLog]:
// the party's own events and those of its relationships become items (one
// is called with them); other parties' identifications and revisions only
// keep their names, for the relationships' other ends.
func historyLogEvent(ctx context.Context, f *feed, ev *eventstore.Event, partyID string, rels map[string]bool,
	one func(*eventstore.Event) error) error {
	switch {
	case ev.Stream == domain.PartyID(partyID).Stream():
		return one(ev)
	case strings.HasPrefix(ev.Stream, domain.RelationshipStreamPrefix):
		id := strings.TrimPrefix(ev.Stream, domain.RelationshipStreamPrefix)
		if ev.Type == domain.EventRelationshipEstablished {
			de, err := decode(ev)
			if err != nil {
				return fmt.Errorf("projections: history: event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
			}
			if e, ok := de.(domain.RelationshipEstablished); ok && (string(e.FromPartyID) == partyID || string(e.ToPartyID) == partyID) {
				rels[id] = true
			}
		}
		if !rels[id] {
			return nil
		}
		return one(ev)
	case strings.HasPrefix(ev.Stream, domain.PartyStreamPrefix):
		if ev.Type != domain.EventPartyIdentified && ev.Type != domain.EventPartyRevised {
			return nil
		}
		_, _, err := historyItem(ctx, f, ev, "", "")
		return err
	}
	return nil
}

// historyItem builds the feed item of ev from what f has seen of the log
// so far; ok is false when ev is not part of the history of partyID (or of
// its requirement requirementID). With partyID "" it only lets f learn the
// names ev sets.
func historyItem(ctx context.Context, f *feed, ev *eventstore.Event, partyID, requirementID string) (ChangeItem, bool, error) {
	de, err := decode(ev)
	if err != nil {
		return ChangeItem{}, false, fmt.Errorf("projections: history: event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
	}
	pid, rid, ok := target(de)
	isRel := strings.HasPrefix(ev.Stream, domain.RelationshipStreamPrefix)
	seed := func(id domain.PartyID) {
		// What the feed would find in an empty table: a party known by id
		// alone until its identification.
		if _, seen := f.parties[string(id)]; !seen {
			f.parties[string(id)] = &partyRefState{ref: PartyRef{ID: string(id)}}
		}
	}
	switch {
	case ok:
		seed(pid)
		if _, seen := f.reqs[string(rid)]; rid != "" && !seen {
			f.reqs[string(rid)] = &reqRefState{partyID: string(pid), ref: RequirementRef{ID: string(rid)}}
		}
	case isRel && requirementID == "":
		if e, est := de.(domain.RelationshipEstablished); est {
			seed(e.FromPartyID)
			seed(e.ToPartyID)
		}
	default:
		return ChangeItem{}, false, nil
	}
	if ok && partyID != "" && string(pid) != partyID {
		return ChangeItem{}, false, nil
	}
	it, ok, err := f.item(ctx, ev, de)
	if err != nil {
		return it, false, fmt.Errorf("projections: history: %w", err)
	}
	if !ok || partyID == "" || (requirementID != "" && string(rid) != requirementID) {
		return it, false, nil
	}
	if it.Changes, err = normalizeChanges(it.Changes); err != nil {
		return it, false, fmt.Errorf("projections: history: %w", err)
	}
	it.Time = ev.Time.UTC()
	return it, true, nil
}
