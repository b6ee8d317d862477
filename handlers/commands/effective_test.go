package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// TestEffectiveOnInEnvelope: a command's effective date lands in the
// envelope of every event it appends (and in the hash); a bad or future
// date is refused and writes nothing.
func TestEffectiveOnInEnvelope(t *testing.T) {
	ctx := context.Background()
	svc, store := MustOpenService(t)
	svc.Now = func() time.Time { return time.Date(2026, 3, 20, 23, 59, 0, 0, time.UTC) }

	for _, on := range []string{"2026-03-21", "2026-13-01", "20260101", "2026-02-30"} {
		cmd := identify("Acme " + on)
		cmd.Meta.EffectiveOn = on
		_, err := svc.IdentifyParty(ctx, cmd)
		var de *domain.Error
		if domain.ErrorCode(err) != domain.EINVALID || !errors.As(err, &de) || len(de.Fields) != 1 || de.Fields[0].Field != "effective_on" {
			t.Errorf("effective_on %s: err = %v, want EINVALID on effective_on", on, err)
		}
	}
	if pos, _, _ := store.Head(ctx); pos != 0 {
		t.Fatalf("refused commands wrote %d events", pos)
	}

	cmd := identify("Acme Bank")
	cmd.Meta.EffectiveOn = "2026-01-12"
	res, err := svc.IdentifyParty(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := svc.IdentifyParty(ctx, identify("Beta Bank"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := store.ReadAll(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var withDate, without int
	for _, ev := range all {
		if ev.Hash != ev.ComputeHash() {
			t.Errorf("event %d: stored hash does not verify", ev.Position)
		}
		switch ev.Stream {
		case res.Stream:
			withDate++
			if ev.EffectiveOn != "2026-01-12" {
				t.Errorf("event %d of the dated command: effective_on %q", ev.Position, ev.EffectiveOn)
			}
		case plain.Stream:
			without++
			if ev.EffectiveOn != "" || ev.EffectiveDate() != "2026-03-20" {
				t.Errorf("event %d without a date: effective_on %q, date %s", ev.Position, ev.EffectiveOn, ev.EffectiveDate())
			}
		default: // the name reservation, appended with the claim
			if ev.EffectiveOn != "" && ev.EffectiveOn != "2026-01-12" {
				t.Errorf("reservation event %d: effective_on %q", ev.Position, ev.EffectiveOn)
			}
		}
	}
	if withDate != 1 || without != 1 {
		t.Fatalf("events: %d dated, %d plain; want 1 and 1", withDate, without)
	}
}
