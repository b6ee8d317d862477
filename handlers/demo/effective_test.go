package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/projections"
)

// TestLoadEffectiveDates: the demo's effective dates tell its story, and
// the register read on the effective axis differs from the recorded one.
func TestLoadEffectiveDates(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		clock time.Time
		opts  []demo.Option
	}{
		{"months later", clock, []demo.Option{demo.WithObjectives(), demo.WithRelationships()}},
		{"the day of the review", time.Date(2026, 3, 12, 18, 0, 0, 0, time.UTC), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.clock)
			sum, err := demo.Load(ctx, e.svc, "demo", nil, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			all, err := e.store.ReadAll(ctx, 0, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			today := tc.clock.Format(time.DateOnly)
			last := ""
			for _, ev := range all {
				on := ev.EffectiveDate()
				if on > today {
					t.Fatalf("event %d (%s) effective %s, after the load day %s", ev.Position, ev.Type, on, today)
				}
				switch {
				case ev.Type == domain.EventPartyIdentified && ev.Position < sum.ReviewPosition && on != min(demo.EffectiveIdentified, today):
					t.Errorf("baseline party identified effective %s", on)
				case ev.Type == domain.EventManagementReviewHeld && on != min(demo.ReviewHeldOn, today):
					t.Errorf("review effective %s, want %s", on, demo.ReviewHeldOn)
				case ev.Position > sum.ReviewPosition && !domain.IsInternalEvent(ev.Type):
					if on < min(demo.ReviewHeldOn, today) || on < last {
						t.Errorf("change %d after the review effective %s (previous %s)", ev.Position, on, last)
					}
					last = on
				}
			}
			if tc.clock != clock {
				return
			}
			// In mid-February the parties were known but no decision had
			// taken effect yet; nothing had been recorded then.
			at := projections.AsOf{Time: time.Date(2026, 2, 1, 23, 0, 0, 0, time.UTC)}
			eff, _ := at.WithAxis("axis", projections.AxisEffective)
			got, err := e.rm.RegisterAsOf(ctx, eff, projections.PartyFilter{})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := e.rm.RegisterAsOf(ctx, at, projections.PartyFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || len(rec) != 0 {
				t.Fatalf("as of 2026-02-01: %d parties on the effective axis, %d recorded; want some and none", len(got), len(rec))
			}
			for _, p := range got {
				for _, r := range p.Requirements {
					if r.Addressed != nil {
						t.Errorf("%s / %s decided on 2026-02-01 already", p.Name, r.Title)
					}
				}
			}
		})
	}
}
