package domain_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

func TestPartyReviewRequirement(t *testing.T) {
	valid := func(edit func(*domain.ReviewRequirement)) domain.ReviewRequirement {
		c := domain.ReviewRequirement{Meta: meta, PartyID: idA, RequirementID: idR1, Outcome: "unchanged",
			Notes: "Checked against MSA v4.", NextReviewDue: "2026-06-30"}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	reviewed := func(edit func(*domain.RequirementReviewed)) domain.RequirementReviewed {
		e := domain.RequirementReviewed{PartyID: idA, RequirementID: idR1, Outcome: "unchanged",
			Notes: "Checked against MSA v4.", NextReviewDue: ptr("2026-06-30"),
			Changes: domain.Changes{"review_due": {From: "2025-12-31", To: "2026-06-30"}}}
		if edit != nil {
			edit(&e)
		}
		return e
	}
	noDate := appendEvents(withRequirements(), domain.RequirementRevised{PartyID: idA, RequirementID: idR1,
		Changes: domain.Changes{"review_due": {From: "2025-12-31", To: nil}}})
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.ReviewRequirement
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "unchanged: the next review is set", history: withRequirements(), cmd: valid(nil),
			want: []domain.Event{reviewed(nil)}},
		{name: "unchanged needs no reason", history: withRequirements(),
			cmd:  valid(func(c *domain.ReviewRequirement) { c.Reason = "" }),
			want: []domain.Event{reviewed(nil)}},
		{name: "unchanged, same next date: no review_due change", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) { c.NextReviewDue = "2025-12-31" }),
			want: []domain.Event{reviewed(func(e *domain.RequirementReviewed) {
				e.NextReviewDue, e.Changes = ptr("2025-12-31"), domain.Changes{}
			})}},
		{name: "a next review already past is taken (it shows as overdue)", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) { c.NextReviewDue = "2025-05-31" }),
			want: []domain.Event{reviewed(func(e *domain.RequirementReviewed) {
				e.NextReviewDue = ptr("2025-05-31")
				e.Changes = domain.Changes{"review_due": {From: "2025-12-31", To: "2025-05-31"}}
			})}},
		{name: "next review out of range", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.NextReviewDue = "2025-06-31" }),
			wantCode: domain.EINVALID, wantFields: []string{"next_review_due"}},
		{name: "first review date", history: noDate, cmd: valid(nil),
			want: []domain.Event{reviewed(func(e *domain.RequirementReviewed) {
				e.Changes = domain.Changes{"review_due": {From: nil, To: "2026-06-30"}}
			})}},
		{name: "changed: revised in the same append", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome = "changed"
				c.Revision = &domain.ReviseRequirement{Priority: ptr("critical"), SourceRef: ptr("MSA v4 §7.2")}
			}),
			want: []domain.Event{
				domain.RequirementRevised{PartyID: idA, RequirementID: idR1, Changes: domain.Changes{
					"priority": {From: "high", To: "critical"}, "source_ref": {From: "MSA §7.2", To: "MSA v4 §7.2"}}},
				reviewed(func(e *domain.RequirementReviewed) { e.Outcome = "changed" }),
			}},
		{name: "retired: retired in the same append", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) { c.Outcome, c.NextReviewDue = "retired", "" }),
			want: []domain.Event{reqRetired(idR1), reviewed(func(e *domain.RequirementReviewed) {
				e.Outcome, e.NextReviewDue, e.Changes = "retired", nil, domain.Changes{}
			})}},

		{name: "changed without a reason", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome, c.Reason = "changed", ""
				c.Revision = &domain.ReviseRequirement{Priority: ptr("low")}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "retired without a reason", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome, c.NextReviewDue, c.Reason = "retired", "", " "
			}),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "changed without revised fields", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.Outcome = "changed" }),
			wantCode: domain.EINVALID, wantFields: []string{"outcome"}},
		{name: "changed to the current values", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome, c.Revision = "changed", &domain.ReviseRequirement{Priority: ptr("high")}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"outcome"}},
		{name: "changed with a review date in the revision", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome, c.Revision = "changed", &domain.ReviseRequirement{ReviewDue: ptr("2026-01-31")}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"review_due"}},
		{name: "changed with an invalid revised field", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome, c.Revision = "changed", &domain.ReviseRequirement{Priority: ptr("urgent")}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"priority"}},
		{name: "changed to another requirement's title", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Outcome, c.Revision = "changed", &domain.ReviseRequirement{Title: ptr("Quarterly security report")}
			}),
			wantCode: domain.ECONFLICT, wantFields: []string{"title"}},
		{name: "unchanged with revised fields", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) {
				c.Revision = &domain.ReviseRequirement{Priority: ptr("low")}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"outcome"}},
		{name: "retired with a next review", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.Outcome = "retired" }),
			wantCode: domain.EINVALID, wantFields: []string{"next_review_due"}},
		{name: "next review missing", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.NextReviewDue = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"next_review_due"}},
		{name: "next review not a date", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.NextReviewDue = "in a year" }),
			wantCode: domain.EINVALID, wantFields: []string{"next_review_due"}},
		{name: "outcome unknown, notes with a control character", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.Outcome, c.Notes = "fine", "\x00" }),
			wantCode: domain.EINVALID, wantFields: []string{"outcome", "notes"}},
		{name: "outcome missing", history: withRequirements(),
			cmd:      valid(func(c *domain.ReviewRequirement) { c.Outcome = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"outcome"}},
		{name: "retired requirement", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) { c.RequirementID = idR2 }), wantCode: domain.ECONFLICT},
		{name: "unknown requirement", history: withRequirements(),
			cmd: valid(func(c *domain.ReviewRequirement) { c.RequirementID = idRX }), wantCode: domain.ENOTFOUND},
		{name: "retired party", history: appendEvents(withRequirements(), retiredA),
			cmd: valid(nil), wantCode: domain.ECONFLICT},
		{name: "unknown party", cmd: valid(nil), wantCode: domain.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.ReviewRequirement(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
			if err == nil {
				// The review moves the register's review date.
				after := MustFold(t, append(tc.history, got...)...)
				want := tc.cmd.NextReviewDue
				if tc.cmd.Outcome == "retired" {
					want = "2025-12-31"
				}
				if r := after.Requirements[idR1]; r.ReviewDue == nil || *r.ReviewDue != want {
					t.Errorf("review_due after the review = %v, want %s", r.ReviewDue, want)
				}
				if after.Version != int64(len(tc.history)+len(got)) {
					t.Errorf("version = %d after %d events", after.Version, len(tc.history)+len(got))
				}
			}
		})
	}
}

// The review's changes round-trip through JSON and fold into the state the
// way a revision of review_due does.
func TestFoldRequirementReviewed(t *testing.T) {
	p := MustFold(t, appendEvents(withRequirements(), domain.RequirementReviewed{PartyID: idA,
		RequirementID: idR3, Outcome: "unchanged", NextReviewDue: ptr("2027-01-31"),
		Changes: domain.Changes{"review_due": {From: "2025-12-31", To: "2027-01-31"}}})...)
	if diff := cmp.Diff(ptr("2027-01-31"), p.Requirements[idR3].ReviewDue); diff != "" {
		t.Errorf("review_due (-want +got):\n%s", diff)
	}
	if got := *p.Requirements[idR1].ReviewDue; got != "2025-12-31" {
		t.Errorf("another requirement's review_due moved to %s", got)
	}
}
