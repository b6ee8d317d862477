package commands_test

import (
	"context"
	"sync"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
)

// TestEstablishRelationshipConcurrently races establishing the same
// (from, to, kind): exactly one wins, the others get ECONFLICT, and the log
// holds one relationship.
func TestEstablishRelationshipConcurrently(t *testing.T) {
	ctx := context.Background()
	svc, store := MustOpenService(t)
	party := func(name string) domain.PartyID {
		res, err := svc.IdentifyParty(ctx, domain.IdentifyParty{Meta: meta, Name: name, Category: "supplier",
			Scope: "external", Influence: 3, Interest: 3})
		if err != nil {
			t.Fatal(err)
		}
		return domain.PartyID(res.Stream[len(domain.PartyStreamPrefix):])
	}
	from, to := party("Cloud provider"), party("Customers")
	head, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Go(func() {
			_, err := svc.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta,
				FromPartyID: from, ToPartyID: to, Kind: "supplies"})
			codes[i] = domain.ErrorCode(err)
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case "":
			won++
		case domain.ECONFLICT:
		default:
			t.Errorf("unexpected outcome %q", c)
		}
	}
	if won != 1 {
		t.Errorf("%d establishments won, want exactly 1 (%v)", won, codes)
	}
	after, _, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after != head+1 {
		t.Errorf("%d events appended, want 1", after-head)
	}
	// Reads that cannot answer relationship queries are an internal error,
	// not a silent pass of the duplicate rule.
	bare := &commands.Service{Store: store, Reads: readsWithoutRelationships{svc.Reads}}
	if _, err := bare.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta, FromPartyID: to,
		ToPartyID: from, Kind: "supplies"}); domain.ErrorCode(err) != domain.EINTERNAL {
		t.Errorf("without relationship reads: %v", err)
	}
}

// readsWithoutRelationships hides every method but commands.ReadModel's.
type readsWithoutRelationships struct{ commands.ReadModel }
