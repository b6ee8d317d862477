package domain_test

import (
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// register is a Directory with no other parties in it.
type register struct{}

func (register) ActivePartyByName(string) (domain.PartyID, bool) { return "", false }
func (register) PartyStatus(domain.PartyID) string               { return "" }
func (register) ParentOf(domain.PartyID) (domain.PartyID, bool)  { return "", false }

// Fold a party from its stream, decide a revision against it and print the
// changes the resulting event records.
func ExampleParty_Revise() {
	id := domain.PartyID("0197a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b")
	party := domain.FoldParty([]domain.Event{
		domain.PartyIdentified{PartyID: id, Name: "Acme Bank", Category: "customer",
			Scope: "external", Owner: "Head of Sales", Influence: 3, Interest: 3},
	})

	now := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	events, err := party.Revise(domain.ReviseParty{
		Meta:      domain.Meta{Actor: "ciso@acme.example", Reason: "new master agreement", Trigger: "contract_change"},
		PartyID:   id,
		Name:      ptr("Acme Bank plc"),
		Influence: ptr(5),
		Owner:     ptr("Head of Sales"), // unchanged: not recorded
	}, register{}, now)
	if err != nil {
		fmt.Println(domain.ErrorCode(err), err)
		return
	}
	for _, e := range events {
		rev := e.(domain.PartyRevised)
		fmt.Println(e.EventType())
		for _, f := range rev.Changes.Fields(domain.PartyFields) {
			fmt.Printf("  %s: %v -> %v\n", f, rev.Changes[f].From, rev.Changes[f].To)
		}
		party.Apply(e)
	}
	fmt.Println(party.Name, party.Influence, party.Version)

	// Revising a retired party is a conflict.
	party.Apply(domain.PartyRetired{PartyID: id})
	_, err = party.Revise(domain.ReviseParty{Meta: domain.Meta{Actor: "ciso@acme.example", Reason: "typo"},
		PartyID: id, Name: ptr("Acme")}, register{}, now)
	fmt.Println(domain.ErrorCode(err))

	// Output:
	// party.revised
	//   name: Acme Bank -> Acme Bank plc
	//   influence: 3 -> 5
	// Acme Bank plc 5 2
	// conflict
}
