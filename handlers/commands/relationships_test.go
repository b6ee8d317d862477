package commands_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
)

// TestEstablishRelationshipConcurrently races establishing the same
// (from, to, kind) from two Service instances on one store (as two
// processes would, sharing no lock): exactly one wins, the others get
// ECONFLICT, and the log holds one relationship and one key claim. Ending
// it releases the key; a kind change moves the key.
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
	other := &commands.Service{Store: store, Reads: svc.Reads, Now: svc.Now}
	services := []*commands.Service{svc, other}
	const n = 8
	var wg sync.WaitGroup
	codes := make([]string, n)
	for i := range n {
		wg.Go(func() {
			_, err := services[i%2].EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta,
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
	if after != head+2 {
		t.Errorf("%d events appended, want 2 (the relationship and its key claim)", after-head)
	}
	key := domain.RelationshipKeyStream(from, to, "supplies")
	claims, err := store.ReadStream(ctx, key, 1)
	if err != nil || len(claims) != 1 || claims[0].Type != domain.EventRelationshipKeyClaimed {
		t.Fatalf("key stream: %v %+v", err, claims)
	}
	id, found, err := svc.Reads.(commands.RelationshipReads).ActiveRelationship(ctx, string(from), string(to), "supplies")
	if err != nil || !found {
		t.Fatalf("active relationship: %v %v", found, err)
	}
	// A kind change moves the key: "supplies" is free again, "depends_on" taken.
	if _, err := other.ReviseRelationship(ctx, domain.ReviseRelationship{Meta: meta, RelationshipID: domain.RelationshipID(id),
		Kind: ptr("depends_on")}, nil); err != nil {
		t.Fatal(err)
	}
	second, err := svc.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta, FromPartyID: from, ToPartyID: to, Kind: "supplies"})
	if err != nil {
		t.Fatalf("supplies after the kind change: %v", err)
	}
	if _, err := other.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta, FromPartyID: from, ToPartyID: to,
		Kind: "depends_on"}); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("depends_on while held: %v", err)
	}
	// Ending releases the key.
	secondID := domain.RelationshipID(second.Stream[len(domain.RelationshipStreamPrefix):])
	if _, err := other.EndRelationship(ctx, domain.EndRelationship{Meta: meta, RelationshipID: secondID}, ptr(int64(1))); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: meta, FromPartyID: from, ToPartyID: to,
		Kind: "supplies"}); err != nil {
		t.Errorf("supplies after the end: %v", err)
	}
	keyEvents, _ := store.ReadStream(ctx, key, 1)
	var types []string
	for _, e := range keyEvents {
		types = append(types, e.Type)
	}
	if want := "relationship_key.claimed relationship_key.released relationship_key.claimed relationship_key.released relationship_key.claimed"; strings.Join(types, " ") != want {
		t.Errorf("key stream: %v, want %s", types, want)
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
