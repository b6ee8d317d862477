package demo_test

import (
	"context"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/projections"
)

// The demo's objectives, KPIs, reviews, plan and log, and what changed
// about them after the management review.
func TestLoadObjectives(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, clock)
	sum, err := demo.Load(ctx, e.svc, "demo@northwind.example", nil, demo.WithObjectives())
	if err != nil {
		t.Fatal(err)
	}
	if n := mustCountRegisterEvents(t, e.store); sum.Events != n {
		t.Errorf("summary counts %d events, the log holds %d (besides name reservations)", sum.Events, n)
	}
	objs, err := e.rm.Objectives(ctx, projections.ObjectiveFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != sum.Objectives || len(objs) < 3 {
		t.Fatalf("%d objectives, summary says %d", len(objs), sum.Objectives)
	}
	kpis, below := 0, 0
	for _, o := range objs {
		for _, k := range o.KPIs {
			kpis++
			if k.Latest == nil || k.MeetsTarget == nil {
				t.Errorf("KPI %q has no measurement", k.Name)
				continue
			}
			if !*k.MeetsTarget {
				below++
			}
		}
	}
	if kpis != sum.KPIs || below != 1 {
		t.Errorf("%d KPIs (summary %d), %d below target, want 1", kpis, sum.KPIs, below)
	}
	backups, err := e.rm.Objective(ctx, string(demo.ObjectiveID(demo.ObjectiveBackups)), 12)
	if err != nil {
		t.Fatal(err)
	}
	if backups.Status != "at_risk" || backups.KPIsBelowTarget != 1 || len(backups.KPIs[0].Trend) != 3 {
		t.Errorf("backups objective: %+v", backups)
	}

	today := clock.Format(domain.DateLayout)
	overdue, err := e.rm.OverdueCommunications(ctx, "", today)
	if err != nil {
		t.Fatal(err)
	}
	if len(overdue) == 0 {
		t.Errorf("no communication overdue on %s", today)
	}
	log, err := e.rm.Communications(ctx, projections.CommunicationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != sum.Communications || sum.PlanEntries == 0 {
		t.Errorf("%d communications (summary %d), %d plan entries", len(log), sum.Communications, sum.PlanEntries)
	}
	if sum.RequirementReviews == 0 {
		t.Error("no requirement reviewed")
	}
	gaps, err := e.rm.OpenGaps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) == 0 {
		t.Error("no open gaps: the demo should show some")
	}

	last, _, err := e.rm.LastReview(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := e.rm.Changes(ctx, projections.Window{After: last.Position})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != sum.ChangesAfterReview {
		t.Errorf("%d changes since the last review, summary says %d", len(changes), sum.ChangesAfterReview)
	}
	kinds := map[string]bool{}
	for _, c := range changes {
		kinds[c.Change] = true
		if c.Reason == "" || c.Actor != "demo@northwind.example" {
			t.Errorf("change at %d: actor %q, reason %q", c.Position, c.Actor, c.Reason)
		}
	}
	for _, want := range []string{projections.ChangeKPIBelowTarget, projections.ChangeObjectiveRevised,
		projections.ChangeRequirementReviewed, projections.ChangeCommunicationSent} {
		if !kinds[want] {
			t.Errorf("no %s change since the review", want)
		}
	}
}
