package synth_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/synth"
)

// TestFill checks the shape of a synthetic log: the counts asked for, every
// stream's versions gap-free, every event decodable, and the tail after the
// last review.
func TestFill(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "events.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const events, parties, reviews, tail = 3001, 37, 3, 120
	res, err := synth.Fill(ctx, store, synth.Options{Events: events, Parties: parties, Reviews: reviews, Tail: tail, Writers: 5, Chunk: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != events || len(res.Parties) != parties || len(res.Reviews) != reviews {
		t.Fatalf("result: %d events, %d parties, %d reviews", res.Events, len(res.Parties), len(res.Reviews))
	}
	all, err := store.ReadAll(ctx, 0, events+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != events {
		t.Fatalf("log holds %d events, want %d", len(all), events)
	}
	versions := map[string]int64{}
	types := map[string]int{}
	for _, ev := range all {
		if ev.Version != versions[ev.Stream]+1 {
			t.Fatalf("event %d: version %d of %s after %d", ev.Position, ev.Version, ev.Stream, versions[ev.Stream])
		}
		versions[ev.Stream] = ev.Version
		if _, err := domain.Decode(ev.Type, ev.Schema, ev.Data); err != nil {
			t.Fatalf("event %d: %v", ev.Position, err)
		}
		types[ev.Type]++
	}
	if got := types[domain.EventPartyIdentified]; got != parties {
		t.Errorf("%d parties identified, want %d", got, parties)
	}
	if got := types[domain.EventManagementReviewHeld]; got != reviews {
		t.Errorf("%d reviews, want %d", got, reviews)
	}
	if got := int64(events) - res.LastReview; got != tail {
		t.Errorf("%d events after the last review, want %d", got, tail)
	}
	if last := all[res.LastReview-1]; last.Type != domain.EventManagementReviewHeld {
		t.Errorf("event at LastReview %d is %s", res.LastReview, last.Type)
	}
}
