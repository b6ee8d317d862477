package report_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/report"
	"github.com/partyledger/partyledger/projections"
)

// TestSentences writes changes through the command service, builds the
// report of the window, and reads the sentence the report gives each event:
// one row per command, in log order.
func TestSentences(t *testing.T) {
	e := MustOpenEnv(t)
	ctx := context.Background()
	regulator := e.MustIdentifyParty(t, "Regulator X", "external")
	supplier := e.MustIdentifyParty(t, "Supplier Y", "external")
	start := e.MustHead(t)
	as := func(actor, reason, trigger string) domain.Meta {
		return domain.Meta{Actor: actor, Reason: reason, Trigger: trigger}
	}
	reqID := domain.RequirementID(uuid.NewString())
	relID := domain.RelationshipID(uuid.NewString())
	yes := true
	objID, kpiID := domain.ObjectiveID(uuid.NewString()), domain.KPIID(uuid.NewString())
	rows := []struct {
		name string
		run  func() error
		want string
	}{
		{"raise a score", func() error {
			_, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: as("Head of Sales", "new NIS2 scope", "regulatory_change"),
				PartyID: regulator, Influence: ptr(4)}, nil)
			return err
		}, "Head of Sales raised the influence of Regulator X from medium to high (reason: new NIS2 scope; trigger: regulatory change)."},
		{"two fields, one lowered", func() error {
			_, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: as("CISO", "quarterly check.", "periodic_review"),
				PartyID: regulator, Owner: ptr("Compliance"), Interest: ptr(2)}, nil)
			return err
		}, "CISO changed the owner of Regulator X from ‘CISO’ to ‘Compliance’ and lowered its interest from medium to low (reason: quarterly check; trigger: periodic review)."},
		{"add a requirement", func() error {
			_, err := e.svc.IdentifyRequirement(ctx, domain.IdentifyRequirement{Meta: as("Finance", "contract renewal", "contract_change"),
				PartyID: supplier, RequirementID: reqID, Kind: "requirement", Title: "Quarterly SLA report",
				SourceType: "contract", Owner: "Vendor manager", Priority: "high"}, nil)
			return err
		}, "Finance added the requirement ‘Quarterly SLA report’ to Supplier Y, with priority high and owner ‘Vendor manager’ (reason: contract renewal; trigger: contract change)."},
		{"raise a priority", func() error {
			_, err := e.svc.ReviseRequirement(ctx, domain.ReviseRequirement{Meta: as("Finance", "penalties agreed", "contract_change"),
				PartyID: supplier, RequirementID: reqID, Priority: ptr("critical")}, nil)
			return err
		}, "Finance raised the priority of the requirement ‘Quarterly SLA report’ of Supplier Y from high to critical (reason: penalties agreed; trigger: contract change)."},
		{"decide addressing", func() error {
			_, err := e.svc.DecideAddressing(ctx, domain.DecideAddressing{Meta: as("CISO", "SLA monitoring exists", "risk_assessment"),
				PartyID: supplier, RequirementID: reqID, Addressed: &yes, Rationale: "Covered by supplier management"}, nil)
			return err
		}, "CISO decided that the requirement ‘Quarterly SLA report’ of Supplier Y is addressed through the ISMS; rationale: ‘Covered by supplier management’ (reason: SLA monitoring exists; trigger: risk assessment)."},
		{"establish a relationship", func() error {
			_, err := e.svc.EstablishRelationship(ctx, domain.EstablishRelationship{Meta: as("Legal", "NIS2 supervision of suppliers", "regulatory_change"),
				RelationshipID: relID, FromPartyID: regulator, ToPartyID: supplier, Kind: "regulates"})
			return err
		}, "Legal recorded that Regulator X regulates Supplier Y (reason: NIS2 supervision of suppliers; trigger: regulatory change)."},
		{"revise a relationship", func() error {
			_, err := e.svc.ReviseRelationship(ctx, domain.ReviseRelationship{Meta: as("Legal", "the scope is NIS2 only", "other"),
				RelationshipID: relID, Label: ptr("NIS2")}, nil)
			return err
		}, "Legal revised the relationship between Regulator X and Supplier Y: label ‘NIS2’ (reason: the scope is NIS2 only; trigger: other)."},
		{"rename a party", func() error {
			_, err := e.svc.ReviseParty(ctx, domain.ReviseParty{Meta: as("CISO", "new trading name", "other"),
				PartyID: supplier, Name: ptr("Supplier Z")}, nil)
			return err
		}, "CISO renamed ‘Supplier Y’ to ‘Supplier Z’ (reason: new trading name; trigger: other)."},
		{"end a relationship", func() error {
			_, err := e.svc.EndRelationship(ctx, domain.EndRelationship{Meta: as("Legal", "supplier left the NIS2 scope", "regulatory_change"),
				RelationshipID: relID}, nil)
			return err
		}, "Legal ended the relationship: Regulator X regulates Supplier Z (NIS2) (reason: supplier left the NIS2 scope; trigger: regulatory change)."},
		{"retire a requirement", func() error {
			_, err := e.svc.RetireRequirement(ctx, domain.RetireRequirement{Meta: as("Finance", "contract ended", "contract_change"),
				PartyID: supplier, RequirementID: reqID}, nil)
			return err
		}, "Finance retired the requirement ‘Quarterly SLA report’ of Supplier Z (reason: contract ended; trigger: contract change)."},
		{"set an objective", func() error {
			_, err := e.svc.SetObjective(ctx, domain.SetObjective{Meta: as("CISO", "board asked for it", "management_review"),
				ObjectiveID: objID, Title: "Keep the platform available", Owner: "Head of Platform", Due: "2027-01-31"})
			return err
		}, "CISO set the objective ‘Keep the platform available’, with owner ‘Head of Platform’ and due ‘2027-01-31’ (reason: board asked for it; trigger: management review)."},
		{"define a KPI", func() error {
			_, err := e.svc.DefineKPI(ctx, domain.DefineKPI{Meta: as("CISO", "measurable", "management_review"),
				ObjectiveID: objID, KPIID: kpiID, Name: "Availability", Unit: "%", Operator: ">=", Target: 99.5, Frequency: "monthly"}, nil)
			return err
		}, "CISO defined the KPI ‘Availability’ of the objective ‘Keep the platform available’, with operator >=, target 99.5, unit ‘%’ and frequency monthly (reason: measurable; trigger: management review)."},
		{"a KPI misses its target", func() error {
			_, err := e.svc.MeasureKPI(ctx, domain.MeasureKPI{Meta: as("monitoring", "monthly report", "periodic_review"),
				ObjectiveID: objID, KPIID: kpiID, MeasurementID: domain.MeasurementID(uuid.NewString()), Value: 98.9,
				MeasuredAt: "2026-06-01"}, nil)
			return err
		}, "monitoring recorded a measurement of the KPI ‘Availability’ of the objective ‘Keep the platform available’ that misses its target, with value 98.9 and measured at ‘2026-06-01T00:00:00Z’ (reason: monthly report; trigger: periodic review)."},
	}
	for _, row := range rows {
		if err := row.run(); err != nil {
			t.Fatalf("%s: %v", row.name, err)
		}
	}
	rep := e.MustBuild(t, "position:"+strconv.FormatInt(start, 10), "")
	var details []projections.ChangeItem
	var all []report.Item
	for _, g := range [][]report.PartyChanges{rep.Internal, rep.External} {
		for _, pc := range g {
			all = append(all, pc.Items...)
		}
	}
	all = append(all, rep.Relationships...)
	all = append(all, rep.Objectives...)
	for _, it := range all {
		details = append(details, it.Details...)
	}
	slices.SortFunc(details, func(a, b projections.ChangeItem) int { return int(a.Position - b.Position) })
	if len(details) != len(rows) {
		t.Fatalf("the report shows %d events behind its changes, want %d (one per command)", len(details), len(rows))
	}
	for i, row := range rows {
		if got := rep.EventSentence(details[i]); got != row.want {
			t.Errorf("%s:\n got %s\nwant %s", row.name, got, row.want)
		}
	}

	// The relationship has its own section, not under its "from" party,
	// with a readable label and both names; its net change sums up the
	// three events.
	for _, g := range [][]report.PartyChanges{rep.Internal, rep.External} {
		for _, pc := range g {
			for _, it := range pc.Items {
				if it.Relationship != nil {
					t.Errorf("relationship item under party %s", pc.Party.Name)
				}
			}
		}
	}
	if len(rep.Relationships) != 1 {
		t.Fatalf("Relationships = %+v, want 1 item", rep.Relationships)
	}
	rel := rep.Relationships[0]
	if got, want := report.ChangeLabel(rel)+": "+rel.Subject(), "Relationship established and ended: Regulator X regulates Supplier Z (NIS2)"; got != want {
		t.Errorf("relationship heading = %q, want %q", got, want)
	}
	if got, want := rep.Summary.Relationships, (report.Counts{Added: 1, Retired: 1}); got != want {
		t.Errorf("Summary.Relationships = %+v, want %+v", got, want)
	}
	net := rep.NetSentence(rel)
	if !strings.HasPrefix(net, "In sum: Legal recorded and ended again the relationship: Regulator X regulates Supplier Z (NIS2) (reason: ") {
		t.Errorf("net sentence = %q", net)
	}
	for _, f := range []report.Format{report.HTML, report.Markdown} {
		out := string(MustRender(t, rep, f))
		for _, want := range []string{"Relationships changed", "Regulator X regulates Supplier Z (NIS2)",
			"Head of Sales raised the influence of Regulator X from medium to high"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
		if strings.Contains(out, "relationship_established") {
			t.Errorf("%s shows a raw change kind", f)
		}
	}
	// CSV (and the XLSX Changes sheet) name the relationship beside its id.
	csv := string(MustRender(t, rep, report.CSV))
	if !strings.Contains(csv, `"`+string(relID)+`","Regulator X regulates Supplier Z (NIS2)"`) {
		t.Errorf("CSV lacks the relationship's id and words:\n%s", csv)
	}
}

// TestSentenceWithoutNames: the function works on a feed item alone (as
// the console reads them), naming an unknown parent as another party.
func TestSentenceWithoutNames(t *testing.T) {
	it := projections.ChangeItem{Actor: "ciso", Trigger: "other", Change: projections.ChangePartyRevised,
		Party:   projections.PartyRef{ID: "p1", Name: "Customers"},
		Changes: []projections.FieldChange{{Field: "parent_id", From: nil, To: "p2"}}}
	if got, want := report.Sentence(it, nil), "ciso set the parent party of Customers to another party (trigger: other)."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	names := func(id string) string { return map[string]string{"p2": "All customers"}[id] }
	if got, want := report.Sentence(it, names), "ciso set the parent party of Customers to All customers (trigger: other)."; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
