package projections

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/partyledger/partyledger/domain"
)

// addressingFields are the fields of the clause 4.2 c) decision.
var addressingFields = []string{"addressed", "rationale", "treatment", "controls"}

// NetChanges reduces a detailed feed (in position order, as [ReadModel.Changes]
// returns it) to one item per party (party events) and one per requirement,
// in order of first appearance:
//
//   - each field goes from its first `from` to its last `to`, in display
//     order ([domain.PartyFields], [domain.RequirementFields]); fields that
//     end where they started (same JSON) are dropped;
//   - Change is X_added_and_retired when the item was added and retired in
//     the window, X_added or X_retired when one of those happened,
//     requirement_addressing_decided when only addressing fields (addressed,
//     rationale, treatment, controls) are left, and X_revised otherwise;
//   - an item with no field left is dropped unless it was added or retired;
//   - Party is the party as last seen anywhere in items (so a rename shows on
//     its requirements too), Requirement as last seen in its own events;
//   - Events lists every event behind the item;
//   - objective items group by objective and KPI items by KPI (Objective
//     set, Party empty), reviews of a requirement group apart from its
//     revisions, and every planned or sent communication stays on its own
//     (see [netKeyOf], [otherNetKind]); relationship items group by
//     relationship, with its "from" party as Party.
//
// NetChanges is pure; the result shares field values with items.
func NetChanges(items []ChangeItem) []NetItem {
	type group struct {
		item           NetItem
		isReq          bool
		added, retired bool
		from, to       domain.Changes  // From of from: first value; To of to: last value
		kinds          map[string]bool // change kinds seen, for objective, review and communication items
	}
	latest := map[string]PartyRef{}
	groups := map[netKey]*group{}
	var order []netKey
	for _, it := range items {
		k := netKeyOf(it)
		g := groups[k]
		if g == nil {
			g = &group{isReq: it.Requirement != nil, from: domain.Changes{}, to: domain.Changes{}, kinds: map[string]bool{}}
			groups[k] = g
			order = append(order, k)
		}
		g.kinds[it.Change] = true
		latest[it.Party.ID] = it.Party
		if it.Requirement != nil {
			r := *it.Requirement
			g.item.Requirement = &r
		}
		if it.Objective != nil {
			o := *it.Objective
			g.item.Objective = &o
		}
		if it.Relationship != nil {
			rel := *it.Relationship
			g.item.Relationship = &rel
		}
		switch it.Change {
		case ChangePartyAdded, ChangeRequirementAdded:
			g.added = true
		case ChangePartyRetired, ChangeRequirementRetired:
			g.retired = true
		}
		for _, fc := range it.Changes {
			if _, seen := g.from[fc.Field]; !seen {
				g.from[fc.Field] = domain.Change{From: fc.From}
			}
			g.to[fc.Field] = domain.Change{To: fc.To}
		}
		g.item.Events = append(g.item.Events, EventRef{Position: it.Position, EventID: it.EventID,
			Type: it.Type, Time: it.Time, Actor: it.Actor, Reason: it.Reason, Trigger: it.Trigger, EffectiveOn: it.EffectiveOn,
			Change: it.Change})
	}

	out := make([]NetItem, 0, len(order))
	for _, k := range order {
		g := groups[k]
		fields := domain.PartyFields
		if g.isReq {
			fields = domain.RequirementFields
		}
		if k.other != "" {
			fields = otherNetFields(k)
		}
		g.item.Changes = []FieldChange{}
		onlyAddressing := true
		for _, f := range g.from.Fields(fields) {
			from, to := g.from[f].From, g.to[f].To
			if sameJSON(from, to) {
				continue
			}
			g.item.Changes = append(g.item.Changes, FieldChange{Field: f, From: from, To: to})
			if !slices.Contains(addressingFields, f) {
				onlyAddressing = false
			}
		}
		if k.other != "" {
			kind, keep := otherNetKind(k, g.kinds, len(g.item.Changes) > 0)
			if keep {
				g.item.Party, g.item.Change = latest[k.party], kind
				out = append(out, g.item)
			}
			continue
		}
		if len(g.item.Changes) == 0 && !g.added && !g.retired {
			continue
		}
		g.item.Party = latest[k.party]
		g.item.Change = netKind(g.isReq, g.added, g.retired, onlyAddressing)
		out = append(out, g.item)
	}
	return out
}

func netKind(isReq, added, retired, onlyAddressing bool) string {
	switch {
	case added && retired:
		return pick(isReq, ChangeRequirementAddedAndRetired, ChangePartyAddedAndRetired)
	case added:
		return pick(isReq, ChangeRequirementAdded, ChangePartyAdded)
	case retired:
		return pick(isReq, ChangeRequirementRetired, ChangePartyRetired)
	case isReq && onlyAddressing:
		return ChangeRequirementAddressingDecided
	}
	return pick(isReq, ChangeRequirementRevised, ChangePartyRevised)
}

func pick(isReq bool, req, party string) string {
	if isReq {
		return req
	}
	return party
}

// sameJSON reports whether a and b encode to the same JSON, so that 3 and
// 3.0, or []string{"x"} and []any{"x"}, count as equal.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}
