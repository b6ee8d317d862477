package projections

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
)

const actor = "alice@example.com"

func TestChangeFeed(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)

	acme := l.identify("Acme", "supplier", "external", "")                            // 1, t0
	sla := l.requirement(acme, "requirement", "SLA")                                  // 2, t0+1m
	l.review("Q1")                                                                    // 3, t0+2m
	l.revise(domain.ReviseParty{PartyID: acme, Name: ptr("ACME"), Influence: ptr(5)}) // 4, t0+3m
	l.decide(domain.DecideAddressing{PartyID: acme, RequirementID: sla, Addressed: ptr(true),
		Controls: []string{"A.5.19"}}) // 5, t0+4m
	l.retireRequirement(acme, sla) // 6, t0+5m
	MustWait(t, m, l.head)

	got, err := m.Changes(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := store.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	id := func(pos int64) string { return evs[pos-1].ID }
	at := func(pos int64) time.Time { return t0.Add(time.Duration(pos-1) * time.Minute) }
	party := func(name string) PartyRef {
		return PartyRef{ID: string(acme), Name: name, Scope: "external", Category: "supplier"}
	}
	req := &RequirementRef{ID: string(sla), Title: "SLA", Kind: "requirement"}
	want := []ChangeItem{
		{Position: 1, EventID: id(1), Type: domain.EventPartyIdentified, Time: at(1), Actor: actor,
			Trigger: "periodic_review", Party: party("Acme"), Change: ChangePartyAdded,
			Changes: []FieldChange{{"name", nil, "Acme"}, {"category", nil, "supplier"},
				{"scope", nil, "external"}, {"description", nil, "about Acme"}, {"owner", nil, "CISO"},
				{"influence", nil, 3}, {"interest", nil, 4}, {"parent_id", nil, nil},
				{"status", nil, "active"}}},
		{Position: 2, EventID: id(2), Type: domain.EventRequirementIdentified, Time: at(2), Actor: actor,
			Trigger: "periodic_review", Party: party("Acme"), Requirement: req, Change: ChangeRequirementAdded,
			Changes: []FieldChange{{"kind", nil, "requirement"}, {"title", nil, "SLA"},
				{"description", nil, "text of SLA"}, {"source_type", nil, "contract"},
				{"source_ref", nil, "MSA §7.2"}, {"owner", nil, "DPO"}, {"priority", nil, "high"},
				{"review_due", nil, "2026-12-31"}, {"addressed", nil, nil}, {"rationale", nil, ""},
				{"treatment", nil, ""}, {"controls", nil, []string{}}, {"status", nil, "active"}}},
		{Position: 4, EventID: id(4), Type: domain.EventPartyRevised, Time: at(4), Actor: actor,
			Reason: "revised", Trigger: "periodic_review", Party: party("ACME"), Change: ChangePartyRevised,
			Changes: []FieldChange{{"name", "Acme", "ACME"}, {"influence", 3, 5}}},
		{Position: 5, EventID: id(5), Type: domain.EventRequirementAddressingDecided, Time: at(5),
			Actor: actor, Reason: "addressing decided", Trigger: "periodic_review", Party: party("ACME"),
			Requirement: req, Change: ChangeRequirementAddressingDecided,
			Changes: []FieldChange{{"addressed", nil, true}, {"controls", []string{}, []string{"A.5.19"}}}},
		{Position: 6, EventID: id(6), Type: domain.EventRequirementRetired, Time: at(6), Actor: actor,
			Reason: "obsolete", Trigger: "periodic_review", Party: party("ACME"), Requirement: req,
			Change: ChangeRequirementRetired, Changes: []FieldChange{{"status", "active", "retired"}}},
	}
	for i := range want { // no command gave a date: each took effect on its recording date
		want[i].EffectiveOn = t0.Format(time.DateOnly)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("feed (-want +got):\n%s", diff)
	}

	windows := []struct {
		name string
		w    Window
		want []int64
	}{
		{"after review", Window{After: 3}, []int64{4, 5, 6}},
		{"until", Window{Until: 2}, []int64{1, 2}},
		{"after and until", Window{After: 1, Until: 5}, []int64{2, 4, 5}},
		{"from time, inclusive", Window{FromTime: at(4)}, []int64{4, 5, 6}},
		{"until time, inclusive", Window{UntilTime: at(2)}, []int64{1, 2}},
		{"time range", Window{FromTime: at(2).Add(-time.Second), UntilTime: at(5).Add(-time.Second)}, []int64{2, 4}},
		{"time in another zone", Window{FromTime: at(5).In(time.FixedZone("CET", 3600))}, []int64{5, 6}},
		{"position and time", Window{After: 4, UntilTime: at(5)}, []int64{5}},
		{"limit", Window{After: 1, Limit: 2}, []int64{2, 4}},
		{"empty", Window{After: 6}, nil},
		{"until before after", Window{After: 4, Until: 2}, nil},
		{"negative until selects nothing", Window{Until: -1}, nil},
		{"no item in the time range", Window{FromTime: at(7)}, nil},
	}
	for _, tc := range windows {
		items, err := m.Changes(ctx, tc.w)
		if err != nil {
			t.Fatal(err)
		}
		var pos []int64
		for _, it := range items {
			pos = append(pos, it.Position)
		}
		if diff := cmp.Diff(tc.want, pos); diff != "" {
			t.Errorf("%s: positions (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestFeedItemsBuiltLiveMatchStored checks that items built straight from the
// events, once normalised, equal the items read back from the table: the
// stored JSON loses nothing and numbers come back as the same Go values.
func TestFeedItemsBuiltLiveMatchStored(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	MustRun(t, m)
	l := newLedger(t, store)
	scenario(l, func() {})
	MustWait(t, m, l.head)
	stored, err := m.Changes(ctx, Window{})
	if err != nil {
		t.Fatal(err)
	}

	evs, err := store.ReadAll(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	db := MustOpenDB(t)
	if err := migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	f := newFeed()
	if err := f.begin(ctx, tx); err != nil {
		t.Fatal(err)
	}
	var live []ChangeItem
	for i := range evs {
		de, err := decode(&evs[i])
		if err != nil {
			t.Fatal(err)
		}
		it, ok, err := f.item(ctx, &evs[i], de)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		if it.Changes, err = normalizeChanges(it.Changes); err != nil {
			t.Fatal(err)
		}
		live = append(live, it)
	}
	if len(live) < 15 {
		t.Fatalf("only %d items", len(live))
	}
	if diff := cmp.Diff(live, stored); diff != "" {
		t.Errorf("(-built live +stored):\n%s", diff)
	}
}
