package projections

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// feedBuilder writes detailed feed items by hand for NetChanges tests.
type feedBuilder struct{ items []ChangeItem }

var (
	pA = PartyRef{ID: "a", Name: "Acme", Scope: "external", Category: "supplier"}
	pB = PartyRef{ID: "b", Name: "Bank", Scope: "external", Category: "customer"}
	r1 = &RequirementRef{ID: "r1", Title: "SLA", Kind: "requirement"}
)

func (b *feedBuilder) add(p PartyRef, r *RequirementRef, change string, changes ...FieldChange) *feedBuilder {
	pos := int64(len(b.items) + 1)
	b.items = append(b.items, ChangeItem{Position: pos, EventID: "e" + string(rune('0'+pos)),
		Type: "t", Time: t0.Add(time.Duration(pos) * time.Minute), Actor: actor, Reason: "why",
		Trigger: "other", Party: p, Requirement: r, Change: change, Changes: changes})
	return b
}

func fc(field string, from, to any) FieldChange { return FieldChange{Field: field, From: from, To: to} }

// refs returns the EventRefs of the builder's items at the given positions.
func (b *feedBuilder) refs(pos ...int64) []EventRef {
	var out []EventRef
	for _, p := range pos {
		it := b.items[p-1]
		out = append(out, EventRef{Position: it.Position, EventID: it.EventID, Type: it.Type,
			Time: it.Time, Actor: it.Actor, Reason: it.Reason, Trigger: it.Trigger, Change: it.Change})
	}
	return out
}

func renamed(p PartyRef, name string) PartyRef { p.Name = name; return p }

func retitled(r *RequirementRef, title string) *RequirementRef {
	c := *r
	c.Title = title
	return &c
}

func TestNetChanges(t *testing.T) {
	tests := []struct {
		name  string
		items func(b *feedBuilder)
		want  func(b *feedBuilder) []NetItem
	}{{
		name: "revise A to B to A is dropped",
		items: func(b *feedBuilder) {
			b.add(pA, nil, ChangePartyRevised, fc("owner", "A", "B"))
			b.add(pA, nil, ChangePartyRevised, fc("owner", "B", "A"))
		},
		want: func(*feedBuilder) []NetItem { return []NetItem{} },
	}, {
		name: "revise A to B to C shows A to C",
		items: func(b *feedBuilder) {
			b.add(pA, nil, ChangePartyRevised, fc("owner", "A", "B"), fc("influence", 3, 4))
			b.add(pA, nil, ChangePartyRevised, fc("owner", "B", "C"), fc("influence", 4, 3.0))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Change: ChangePartyRevised,
				Changes: []FieldChange{fc("owner", "A", "C")}, Events: b.refs(1, 2)}}
		},
	}, {
		name: "fields in display order",
		items: func(b *feedBuilder) {
			b.add(pA, nil, ChangePartyRevised, fc("status", "x", "y"), fc("interest", 1, 2))
			b.add(pA, nil, ChangePartyRevised, fc("name", "Acme", "Acme"), fc("zzz", 1, 2), fc("category", "a", "b"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Change: ChangePartyRevised, Changes: []FieldChange{
				fc("category", "a", "b"), fc("interest", 1, 2), fc("status", "x", "y"), fc("zzz", 1, 2)},
				Events: b.refs(1, 2)}}
		},
	}, {
		name: "requirement added and retired in the window",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementAdded, fc("title", nil, "SLA"), fc("addressed", nil, nil),
				fc("controls", nil, []string{}), fc("status", nil, "active"))
			b.add(pA, r1, ChangeRequirementRetired, fc("status", "active", "retired"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Requirement: r1, Change: ChangeRequirementAddedAndRetired,
				Changes: []FieldChange{fc("title", nil, "SLA"), fc("controls", nil, []string{}),
					fc("status", nil, "retired")},
				Events: b.refs(1, 2)}}
		},
	}, {
		name: "party added then revised stays added",
		items: func(b *feedBuilder) {
			b.add(pA, nil, ChangePartyAdded, fc("name", nil, "Acme"), fc("owner", nil, "CISO"))
			b.add(pA, nil, ChangePartyRevised, fc("owner", "CISO", "CIO"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Change: ChangePartyAdded,
				Changes: []FieldChange{fc("name", nil, "Acme"), fc("owner", nil, "CIO")}, Events: b.refs(1, 2)}}
		},
	}, {
		name: "addressing null to true to false shows null to false",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementAddressingDecided, fc("addressed", nil, true),
				fc("controls", []string{}, []string{"A.5.19"}))
			b.add(pA, r1, ChangeRequirementAddressingDecided, fc("addressed", true, false),
				fc("controls", []any{"A.5.19"}, []string{}), fc("rationale", "", "outsourced"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Requirement: r1, Change: ChangeRequirementAddressingDecided,
				Changes: []FieldChange{fc("addressed", nil, false), fc("rationale", "", "outsourced")},
				Events:  b.refs(1, 2)}}
		},
	}, {
		name: "addressing back to undecided is dropped",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementAddressingDecided, fc("addressed", nil, true))
			b.add(pA, r1, ChangeRequirementAddressingDecided, fc("addressed", true, nil))
		},
		want: func(*feedBuilder) []NetItem { return []NetItem{} },
	}, {
		name: "addressing plus a revision is a revision",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementAddressingDecided, fc("addressed", nil, true))
			b.add(pA, r1, ChangeRequirementRevised, fc("priority", "low", "high"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Requirement: r1, Change: ChangeRequirementRevised,
				Changes: []FieldChange{fc("priority", "low", "high"), fc("addressed", nil, true)},
				Events:  b.refs(1, 2)}}
		},
	}, {
		name: "revision undone, addressing left",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementRevised, fc("priority", "low", "high"))
			b.add(pA, r1, ChangeRequirementAddressingDecided, fc("treatment", "", "DLP"))
			b.add(pA, r1, ChangeRequirementRevised, fc("priority", "high", "low"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Requirement: r1, Change: ChangeRequirementAddressingDecided,
				Changes: []FieldChange{fc("treatment", "", "DLP")}, Events: b.refs(1, 2, 3)}}
		},
	}, {
		name: "retire party, revisions undone",
		items: func(b *feedBuilder) {
			b.add(pA, nil, ChangePartyRevised, fc("owner", "A", "B"))
			b.add(pA, nil, ChangePartyRevised, fc("owner", "B", "A"))
			b.add(pA, nil, ChangePartyRetired, fc("status", "active", "retired"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Change: ChangePartyRetired,
				Changes: []FieldChange{fc("status", "active", "retired")}, Events: b.refs(1, 2, 3)}}
		},
	}, {
		name: "retired item is kept even with no field left",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementRetired)
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{{Party: pA, Requirement: r1, Change: ChangeRequirementRetired,
				Changes: []FieldChange{}, Events: b.refs(1)}}
		},
	}, {
		name: "party rename shows on its requirements; refs are the latest",
		items: func(b *feedBuilder) {
			b.add(pA, r1, ChangeRequirementRevised, fc("title", "SLA", "SLA v2"))
			b.add(pB, nil, ChangePartyRevised, fc("owner", "x", "y"))
			b.add(renamed(pA, "ACME"), nil, ChangePartyRevised, fc("name", "Acme", "ACME"))
			b.items[0].Requirement = retitled(r1, "SLA v2")
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{
				{Party: renamed(pA, "ACME"), Requirement: retitled(r1, "SLA v2"), Change: ChangeRequirementRevised,
					Changes: []FieldChange{fc("title", "SLA", "SLA v2")}, Events: b.refs(1)},
				{Party: pB, Change: ChangePartyRevised, Changes: []FieldChange{fc("owner", "x", "y")},
					Events: b.refs(2)},
				{Party: renamed(pA, "ACME"), Change: ChangePartyRevised,
					Changes: []FieldChange{fc("name", "Acme", "ACME")}, Events: b.refs(3)},
			}
		},
	}, {
		name: "groups in order of first appearance; party and requirement apart",
		items: func(b *feedBuilder) {
			b.add(pB, nil, ChangePartyRevised, fc("owner", "x", "y"))
			b.add(pA, r1, ChangeRequirementRevised, fc("owner", "p", "q"))
			b.add(pA, nil, ChangePartyRevised, fc("owner", "m", "n"))
			b.add(pB, nil, ChangePartyRevised, fc("owner", "y", "z"))
		},
		want: func(b *feedBuilder) []NetItem {
			return []NetItem{
				{Party: pB, Change: ChangePartyRevised, Changes: []FieldChange{fc("owner", "x", "z")}, Events: b.refs(1, 4)},
				{Party: pA, Requirement: r1, Change: ChangeRequirementRevised,
					Changes: []FieldChange{fc("owner", "p", "q")}, Events: b.refs(2)},
				{Party: pA, Change: ChangePartyRevised, Changes: []FieldChange{fc("owner", "m", "n")}, Events: b.refs(3)},
			}
		},
	}, {
		name:  "empty",
		items: func(*feedBuilder) {},
		want:  func(*feedBuilder) []NetItem { return []NetItem{} },
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &feedBuilder{}
			tc.items(b)
			if diff := cmp.Diff(tc.want(b), NetChanges(b.items)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestNetChangesOfStoredFeed runs NetChanges over a feed read from the
// database: the same party renamed and a requirement added and retired.
func TestNetChangesOfStoredFeed(t *testing.T) {
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	MustWait(t, m, l.head)
	last, _, err := m.LastReview(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	items, err := m.Changes(t.Context(), Window{After: last.Position})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range NetChanges(items) {
		s := n.Change + " " + n.Party.Name
		if n.Requirement != nil {
			s += " / " + n.Requirement.Title
		}
		got = append(got, s)
	}
	want := []string{
		ChangePartyRevised + " Government customers",
		ChangeRequirementAddressingDecided + " ACME Hosting GmbH / 99.9 % availability",
		ChangeRequirementAddedAndRetired + " Government customers / Sovereign cloud",
		ChangePartyRevised + " Employees",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
