package report_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/report"
)

// TestOtherFeedItems: requirement reviews and communications show under
// their party, objectives and KPIs in a section of their own, and all of
// them in the counts, the CSV and every format.
func TestOtherFeedItems(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	pid := e.MustIdentifyParty(t, "Data Protection Authority", "external")
	rid := domain.RequirementID(uuid.NewString())
	_, err := e.svc.IdentifyRequirement(ctx, domain.IdentifyRequirement{Meta: meta("GDPR", "regulatory_change"),
		PartyID: pid, RequirementID: rid, Kind: "requirement", Title: "Records of processing", SourceType: "law",
		Priority: "medium", ReviewDue: "2026-05-31"}, nil)
	must("identify requirement", err)
	_, err = e.svc.HoldManagementReview(ctx, domain.HoldManagementReview{Meta: meta("Q1 review", "management_review"),
		ReviewID: domain.ReviewID(uuid.NewString()), HeldOn: "2026-06-14", Title: "Q1"})
	must("hold review", err)

	// After the review: a requirement review, a communication, an objective
	// with a KPI measured below its target.
	_, err = e.svc.ReviewRequirement(ctx, domain.ReviewRequirement{Meta: meta("yearly review", "periodic_review"),
		PartyID: pid, RequirementID: rid, Outcome: "unchanged", Notes: "Still accurate.", NextReviewDue: "2027-05-31"}, nil)
	must("review requirement", err)
	_, err = e.svc.SendCommunication(ctx, domain.SendCommunication{Meta: meta("annual statement", "other"),
		CommunicationID: domain.CommunicationID(uuid.NewString()), PartyID: pid, Channel: "letter", SentBy: "DPO",
		Summary: "Sent the annual statement of processing.", SentAt: "2026-06-15"})
	must("send communication", err)
	oid := domain.ObjectiveID(uuid.NewString())
	_, err = e.svc.SetObjective(ctx, domain.SetObjective{Meta: meta("availability objective", "management_review"),
		ObjectiveID: oid, Title: "Platform availability", Owner: "CTO", Due: "2026-12-31"})
	must("set objective", err)
	kid := domain.KPIID(uuid.NewString())
	_, err = e.svc.DefineKPI(ctx, domain.DefineKPI{Meta: meta("KPI", "management_review"), ObjectiveID: oid, KPIID: kid,
		Name: "Monthly availability", Unit: "%", Operator: ">=", Target: 99.9, Frequency: "monthly"}, nil)
	must("define KPI", err)
	_, err = e.svc.MeasureKPI(ctx, domain.MeasureKPI{Meta: meta("May figures", "other"), ObjectiveID: oid, KPIID: kid,
		MeasurementID: domain.MeasurementID(uuid.NewString()), Value: 99.5, MeasuredAt: "2026-05-31"}, nil)
	must("measure KPI", err)

	rep := e.MustBuild(t, "", "")
	if rep.Summary.Requirements.Reviewed != 1 || rep.Summary.Communications != 1 || rep.Summary.Objectives != 2 {
		t.Errorf("summary = %+v, want 1 requirement reviewed, 1 communication, 2 objective items", rep.Summary)
	}
	if len(rep.External) != 1 {
		t.Fatalf("external parties = %+v", rep.External)
	}
	var kinds []string
	for _, it := range rep.External[0].Items {
		kinds = append(kinds, it.Change)
	}
	if want := []string{"requirement_reviewed", "communication_sent"}; !slices.Equal(kinds, want) {
		t.Errorf("party items = %q, want %q", kinds, want)
	}
	kinds = kinds[:0]
	for _, it := range rep.Objectives {
		kinds = append(kinds, it.Change)
		if it.Objective == nil || it.Objective.ID != string(oid) {
			t.Errorf("objective item %+v", it)
		}
	}
	if want := []string{"objective_added", "kpi_defined"}; !slices.Equal(kinds, want) && !slices.Equal(kinds, []string{"objective_added", "kpi_below_target"}) {
		t.Errorf("objective items = %q", kinds)
	}
	review := rep.External[0].Items[0]
	for _, fc := range review.Fields {
		if fc.Field == "review_due" && (fc.From != "2026-05-31" || fc.To != "2027-05-31" || len(fc.Positions) != 1) {
			t.Errorf("review_due = %+v", fc)
		}
	}

	md := string(MustRender(t, rep, report.Markdown))
	for _, want := range []string{"##### Requirement reviewed: Records of processing", "##### Communication sent",
		"### Objectives and KPIs (clause 6.2)", "##### Objective set: Platform availability",
		"Monthly availability (objective: Platform availability)", "| review outcome | — | unchanged |"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	rows := MustParseCSV(t, MustRender(t, rep, report.CSV))
	var objectiveRows, kpiRows int
	for _, r := range rows {
		if byColumn(r, "objective_id") == string(oid) {
			objectiveRows++
			if byColumn(r, "party_id") != "" {
				t.Errorf("objective row names a party: %q", r)
			}
		}
		if byColumn(r, "kpi_id") == string(kid) {
			kpiRows++
		}
	}
	if objectiveRows == 0 || kpiRows == 0 {
		t.Errorf("CSV: %d objective rows, %d KPI rows", objectiveRows, kpiRows)
	}
	for _, f := range []report.Format{report.HTML, report.PDF, report.XLSX} {
		MustRender(t, rep, f)
	}
}
