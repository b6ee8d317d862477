package demo_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/projections"
)

// The demo's relationships, the payroll supplier's retirement taking its
// relationship off the map, and what changed after the management review.
func TestLoadRelationships(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, clock)
	sum, err := demo.Load(ctx, e.svc, "demo@northwind.example", nil, demo.WithRelationships())
	if err != nil {
		t.Fatal(err)
	}
	if n := mustCountRegisterEvents(t, e.store); sum.Events != n {
		t.Errorf("summary counts %d events, the log holds %d (besides name and relationship key reservations)", sum.Events, n)
	}
	all, err := e.rm.Relationships(ctx, projections.RelationshipFilter{Status: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 13 {
		t.Errorf("%d relationships, want 13", len(all))
	}
	onMap, err := e.rm.Relationships(ctx, projections.RelationshipFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range onMap {
		if r.FromPartyName == "PayFlow HR (payroll and HR SaaS)" {
			t.Error("the retired payroll supplier's relationship is on the map")
		}
	}
	if len(onMap) != 11 { // 13, less the ended office and the retired payroll supplier's
		t.Errorf("%d relationships on the map, want 11", len(onMap))
	}
	since, err := e.rm.RelationshipsSince(ctx, sum.ReviewPosition)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, r := range since {
		if r.Change != "" {
			changed = append(changed, r.Change+" "+r.Kind+" "+r.Label)
		}
	}
	slices.Sort(changed)
	want := []string{"added influences public disclosure", "changed represents DACH and Nordics", "ended supplies office"}
	if diff := cmp.Diff(want, changed); diff != "" {
		t.Errorf("since the review (-want +got):\n%s", diff)
	}
	if r, err := e.rm.Relationship(ctx, string(demo.RelationshipID("competitor"))); err != nil || r.Kind != "competes_with" {
		t.Errorf("competitor relationship: %+v, %v", r, err)
	}
}
