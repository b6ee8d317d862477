package projections

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

// TestRelationshipsInFeedNetHistoryAsOf follows relationships through the
// detailed and net change feeds, a party's history and the as_of reads.
func TestRelationshipsInFeedNetHistoryAsOf(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	m := MustOpenReadModel(t, store)
	stop := MustRun(t, m)
	l := newLedger(t, store)
	cloud := l.identify("Cloud provider", "supplier", "external", "")
	customers := l.identify("Customers", "customer", "external", "")
	regulator := l.identify("Data regulator", "regulator", "external", "")
	supplies, err := establish(t, l, m, cloud, customers, "supplies", "")
	if err != nil {
		t.Fatal(err)
	}
	before := l.head // a review held here
	beforeTime := l.now
	regulates, err := establish(t, l, m, regulator, cloud, "regulates", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := relate(t, l, m, supplies, func(r *domain.Relationship, dir domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.Revise(domain.ReviseRelationship{Meta: meta("scope clarified"), RelationshipID: supplies,
			Label: ptr("hosting"), Description: ptr("IaaS in two regions.")}, dir, l.now)
	}); err != nil {
		t.Fatal(err)
	}
	if err := relate(t, l, m, supplies, func(r *domain.Relationship, dir domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.Revise(domain.ReviseRelationship{Meta: meta("undo"), RelationshipID: supplies,
			Description: ptr("")}, dir, l.now)
	}); err != nil {
		t.Fatal(err)
	}
	temp, err := establish(t, l, m, customers, regulator, "other", "complains to")
	if err != nil {
		t.Fatal(err)
	}
	if err := relate(t, l, m, temp, func(r *domain.Relationship, _ domain.RelationshipDirectory) ([]domain.Event, error) {
		return r.End(domain.EndRelationship{Meta: meta("resolved"), RelationshipID: temp}, l.now)
	}); err != nil {
		t.Fatal(err)
	}
	l.revise(domain.ReviseParty{Meta: meta("renamed"), PartyID: cloud, Name: ptr("Cloud Co")})
	MustWait(t, m, l.head)

	// Detailed: one item per relationship event, the "from" party as the
	// item's party, both ends named as they were then.
	items, err := m.Changes(ctx, Window{After: before})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		if it.Relationship == nil {
			got = append(got, it.Change+" "+it.Party.Name)
			continue
		}
		r := it.Relationship
		got = append(got, it.Change+" "+it.Party.Name+": "+r.FromPartyName+" "+r.Kind+"/"+r.Label+" "+r.ToPartyName)
	}
	want := []string{
		"relationship_established Data regulator: Data regulator regulates/ Cloud provider",
		"relationship_revised Cloud provider: Cloud provider supplies/hosting Customers",
		"relationship_revised Cloud provider: Cloud provider supplies/hosting Customers",
		"relationship_established Customers: Customers other/complains to Data regulator",
		"relationship_ended Customers: Customers other/complains to Data regulator",
		"party_revised Cloud Co",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("detailed feed (-want +got):\n%s", diff)
	}
	if c := items[0].Changes; len(c) != 6 || c[0].Field != "from_party_id" || c[0].To != string(regulator) {
		t.Errorf("established item's changes: %+v", c)
	}

	// Net: one item per relationship; a description set and unset is gone,
	// established-and-ended is its own kind.
	net := NetChanges(items)
	got = nil
	for _, it := range net {
		line := it.Change + " " + it.Party.Name
		if it.Relationship != nil {
			line += " " + it.Relationship.ID
		}
		for _, c := range it.Changes {
			line += " " + c.Field
		}
		got = append(got, line)
	}
	want = []string{
		"relationship_established Data regulator " + string(regulates) + " from_party_id to_party_id kind label description status",
		"relationship_revised Cloud Co " + string(supplies) + " label",
		"relationship_established_and_ended Customers " + string(temp) + " from_party_id to_party_id kind label description status",
		"party_revised Cloud Co name",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("net feed (-want +got):\n%s", diff)
	}
	page, _, err := m.NetPage(ctx, Window{After: before, Until: l.head}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(net, page); diff != "" {
		t.Errorf("net page differs from NetChanges (-want +got):\n%s", diff)
	}

	// History of a party holds the relationships at either end.
	hist, err := m.History(ctx, string(regulator), "")
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, it := range hist {
		got = append(got, it.Change)
	}
	if diff := cmp.Diff([]string{"party_added", "relationship_established", "relationship_established",
		"relationship_ended"}, got); diff != "" {
		t.Errorf("history of the regulator (-want +got):\n%s", diff)
	}
	// The history read from the log alone (the CLI's) is the same, for
	// each end and direction, names as they were then included.
	for _, pid := range []domain.PartyID{regulator, cloud, customers} {
		want, err := m.History(ctx, string(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		fromLog, err := HistoryFromLog(ctx, store, string(pid), "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, fromLog); diff != "" {
			t.Errorf("history of %s from the log (-read model +log):\n%s", pid, diff)
		}
	}

	// As of the "review": one relationship, without its later label; now
	// the same as the live read model.
	then, err := m.RelationshipsAsOf(ctx, AsOf{Position: before}, RelationshipFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(then) != 1 || then[0].ID != string(supplies) || then[0].Label != "" || then[0].Version != 1 ||
		then[0].FromPartyName != "Cloud provider" {
		t.Errorf("as of position %d: %+v", before, then)
	}
	byTime, err := m.RelationshipsAsOf(ctx, AsOf{Time: beforeTime.Add(-1)}, RelationshipFilter{PartyID: string(customers)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(then, byTime); diff != "" {
		t.Errorf("as of a time differs from as of its position (-pos +time):\n%s", diff)
	}
	for _, f := range []RelationshipFilter{{}, {Status: "all"}, {Status: "ended"}, {PartyID: string(regulator), Status: "all"}, {Kind: "regulates"}} {
		live, err := m.Relationships(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		now, err := m.RelationshipsAsOf(ctx, AsOf{Position: l.head}, f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(live, now); diff != "" {
			t.Errorf("as of now vs live, filter %+v (-live +as_of):\n%s", f, diff)
		}
	}
	if _, err := m.RelationshipsAsOf(ctx, AsOf{Position: l.head}, RelationshipFilter{Kind: "likes"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad kind: %v", err)
	}

	// Rebuilt from zero, the feed is what live updates made.
	stop()
	if err := m.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := m.Changes(ctx, Window{After: before})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(items, rebuilt); diff != "" {
		t.Errorf("rebuilt feed differs (-live +rebuilt):\n%s", diff)
	}
}
