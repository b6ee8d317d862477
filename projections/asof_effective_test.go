package projections

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// TestAsOfAxes: a register migrated on one day with effective dates in the
// past reads as empty on the recorded axis before that day, and as it was
// in the world on the effective axis; both agree on the day of recording.
func TestAsOfAxes(t *testing.T) {
	ctx := context.Background()
	store := MustOpenStore(t)
	live := MustOpenReadModel(t, store)
	MustRun(t, live)
	l := newLedger(t, store) // records on 2026-03-02

	acme := domain.PartyID(newID())
	id := domain.IdentifyParty{Meta: meta("migrated"), PartyID: acme, Name: "Acme", Category: "customer",
		Scope: "external", Owner: "CISO", Influence: 3, Interest: 3}
	id.Meta.EffectiveOn = "2026-01-05"
	l.party(acme, id.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) { return p.Identify(id, l, now) })
	rev := domain.ReviseParty{Meta: meta("renamed"), PartyID: acme, Name: ptr("Acme plc")}
	rev.Meta.EffectiveOn = "2026-02-01"
	l.party(acme, rev.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) { return p.Revise(rev, l, now) })
	l.identify("Beta", "supplier", "external", "") // no effective date: the recording date
	MustWait(t, live, l.head)

	names := func(at AsOf, reads interface {
		RegisterAsOf(context.Context, AsOf, PartyFilter) ([]PartyView, error)
	}) []string {
		t.Helper()
		ps, err := reads.RegisterAsOf(ctx, at, PartyFilter{})
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	day := func(s string) time.Time {
		d, _ := time.Parse(time.DateOnly, s)
		return d.Add(24*time.Hour - time.Nanosecond)
	}
	cache := NewSnapshotCache(live)
	for _, tt := range []struct {
		day       string
		axis      Axis
		want      []string
		partyName string // Acme's name from PartyAsOf, "" for not found
	}{
		{"2026-01-04", AxisEffective, []string{}, ""},
		{"2026-01-20", AxisRecorded, []string{}, ""},
		{"2026-01-20", AxisEffective, []string{"Acme"}, "Acme"},
		{"2026-02-01", AxisEffective, []string{"Acme plc"}, "Acme plc"},
		{"2026-03-01", AxisEffective, []string{"Acme plc"}, "Acme plc"},
		{"2026-03-01", AxisRecorded, []string{}, ""},
		{"2026-03-02", AxisEffective, []string{"Acme plc", "Beta"}, "Acme plc"},
		{"2026-03-02", AxisRecorded, []string{"Acme plc", "Beta"}, "Acme plc"},
	} {
		at, err := AsOf{Time: day(tt.day)}.WithAxis("axis", tt.axis)
		if err != nil {
			t.Fatal(err)
		}
		for name, reads := range map[string]interface {
			RegisterAsOf(context.Context, AsOf, PartyFilter) ([]PartyView, error)
		}{"read model": live, "snapshot cache": cache} {
			if got := names(at, reads); !slices.Equal(got, tt.want) {
				t.Errorf("%s %s (%s): register %q, want %q", tt.day, tt.axis, name, got, tt.want)
			}
		}
		p, err := live.PartyAsOf(ctx, at, string(acme))
		switch {
		case tt.partyName == "" && domain.ErrorCode(err) != domain.ENOTFOUND:
			t.Errorf("%s %s: PartyAsOf = %v, %v; want not found", tt.day, tt.axis, p.Name, err)
		case tt.partyName != "" && (err != nil || p.Name != tt.partyName):
			t.Errorf("%s %s: PartyAsOf = %q, %v; want %q", tt.day, tt.axis, p.Name, err, tt.partyName)
		}
	}
	if _, err := (AsOf{Position: 3}).WithAxis("axis", AxisEffective); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("effective axis at a position: err = %v, want EINVALID", err)
	}
	if _, err := ParseAxis("axis", "valid"); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("ParseAxis(valid): err = %v, want EINVALID", err)
	}
}
