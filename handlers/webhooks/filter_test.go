package webhooks_test

import (
	"testing"

	"github.com/partyledger/partyledger/handlers/pipeline"
	"github.com/partyledger/partyledger/handlers/webhooks"
	"github.com/partyledger/partyledger/projections"
)

func TestFilterMatch(t *testing.T) {
	const pid = "0193c0de-0000-7000-8000-000000000001"
	item := &pipeline.Item{Type: "requirement.revised", Trigger: "incident",
		Party: projections.PartyRef{ID: pid, Category: "supplier"}}
	cases := []struct {
		name   string
		f      webhooks.Filter
		typ    string
		change *pipeline.Item
		want   bool
	}{
		{"empty filter", webhooks.Filter{}, "requirement.revised", item, true},
		{"empty filter, review", webhooks.Filter{}, "management_review.held", nil, true},
		{"type in list", webhooks.Filter{Types: []string{"party.revised", "requirement.revised"}}, "requirement.revised", item, true},
		{"type not in list", webhooks.Filter{Types: []string{"party.revised"}}, "requirement.revised", item, false},
		{"party", webhooks.Filter{PartyIDs: []string{pid}}, "requirement.revised", item, true},
		{"other party", webhooks.Filter{PartyIDs: []string{"0193c0de-0000-7000-8000-000000000002"}}, "requirement.revised", item, false},
		{"party filter, review", webhooks.Filter{PartyIDs: []string{pid}}, "management_review.held", nil, false},
		{"category", webhooks.Filter{Categories: []string{"customer", "supplier"}}, "requirement.revised", item, true},
		{"other category", webhooks.Filter{Categories: []string{"customer"}}, "requirement.revised", item, false},
		{"trigger", webhooks.Filter{Triggers: []string{"incident"}}, "requirement.revised", item, true},
		{"all must match", webhooks.Filter{Types: []string{"requirement.revised"}, Triggers: []string{"audit_finding"}}, "requirement.revised", item, false},
		{"all match", webhooks.Filter{Types: []string{"requirement.revised"}, Categories: []string{"supplier"},
			PartyIDs: []string{pid}, Triggers: []string{"incident"}}, "requirement.revised", item, true},
	}
	for _, tc := range cases {
		trigger := "incident"
		if got := tc.f.Match(tc.typ, trigger, tc.change); got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := (webhooks.Filter{Types: []string{"party.revised"}, Categories: []string{"supplier"},
		Triggers: []string{"incident"}, PartyIDs: []string{pid}}).Validate(""); err != nil {
		t.Errorf("valid filter: %v", err)
	}
}
