package projections

import (
	"slices"

	"github.com/partyledger/partyledger/domain"
)

// netKey is what [NetChanges] groups items by: a party, one of its
// requirements, or (other set) an objective, a KPI, the reviews of a
// requirement or one communication.
type netKey struct{ party, req, other string }

// Groups of [netKey].other.
const (
	netObjective = "objective:"
	netKPI       = "kpi:"
	netReview    = "review"
	netComm      = "communication:"
	netRel       = "relationship:"
)

// netKeyOf groups objective items by objective, KPI items by KPI, the
// reviews of a requirement together (apart from its revisions) and keeps
// every planned or sent communication on its own; relationship items group
// by relationship (under their "from" party).
func netKeyOf(it ChangeItem) netKey {
	k := netKey{party: it.Party.ID}
	switch {
	case it.Relationship != nil:
		k.other = netRel + it.Relationship.ID
	case it.Objective != nil && it.Objective.KPI != nil:
		return netKey{other: netKPI + it.Objective.KPI.ID}
	case it.Objective != nil:
		return netKey{other: netObjective + it.Objective.ID}
	case it.Change == ChangeRequirementReviewed && it.Requirement != nil:
		k.req, k.other = it.Requirement.ID, netReview
	case it.Change == ChangeCommunicationPlanned || it.Change == ChangeCommunicationSent:
		k.other = netComm + it.EventID
	case it.Requirement != nil:
		k.req = it.Requirement.ID
	}
	return k
}

var (
	kpiNetFields  = slices.Concat(domain.KPIFields, measurementFields)
	commNetFields = union(domain.CommunicationPlanFields, domain.CommunicationSentFields)
)

// union returns the strings of a, then those of b not in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// otherNetFields is the display order of the fields of a group with other
// set.
func otherNetFields(k netKey) []string {
	switch {
	case k.other == netReview:
		return domain.RequirementReviewFields
	case len(k.other) > len(netKPI) && k.other[:len(netKPI)] == netKPI:
		return kpiNetFields
	case len(k.other) > len(netComm) && k.other[:len(netComm)] == netComm:
		return commNetFields
	case len(k.other) > len(netRel) && k.other[:len(netRel)] == netRel:
		return domain.RelationshipFields
	}
	return domain.ObjectiveFields
}

// otherNetKind is the net change kind of a group with other set, and
// whether the group is shown at all: an objective or KPI is shown when it
// was added or when a field ended other than it started; a review or a
// communication always.
func otherNetKind(k netKey, kinds map[string]bool, changed bool) (string, bool) {
	switch {
	case kinds[ChangeRelationshipEstablished] && kinds[ChangeRelationshipEnded]:
		return ChangeRelationshipEstablishedAndEnded, true
	case kinds[ChangeRelationshipEstablished]:
		return ChangeRelationshipEstablished, true
	case kinds[ChangeRelationshipEnded]:
		return ChangeRelationshipEnded, true
	case kinds[ChangeRelationshipRevised]:
		return ChangeRelationshipRevised, changed
	case kinds[ChangeObjectiveAdded]:
		return ChangeObjectiveAdded, true
	case kinds[ChangeKPIDefined]:
		return ChangeKPIDefined, true
	case kinds[ChangeKPIBelowTarget]:
		return ChangeKPIBelowTarget, true
	case kinds[ChangeRequirementReviewed]:
		return ChangeRequirementReviewed, true
	case kinds[ChangeCommunicationPlanned]:
		return ChangeCommunicationPlanned, true
	case kinds[ChangeCommunicationSent]:
		return ChangeCommunicationSent, true
	case kinds[ChangeKPIRevised]:
		return ChangeKPIRevised, changed
	}
	return ChangeObjectiveRevised, changed
}
