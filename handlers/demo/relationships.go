package demo

import (
	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
)

// The demo's relationships between parties: who supplies, regulates,
// audits, represents and competes. Established before the management
// review; after it one is revised, one ended and one added, so the map
// "since the last review" has something to show.

// WithRelationships makes [Load] load the demo's relationships too, and the
// competitor they need. It is an option for the same reason as
// [WithObjectives]: fixtures built on the register alone keep their shape.
func WithRelationships() Option { return func(l *loader) { l.relationships = true } }

// RelationshipID returns the id of the demo relationship with the given key.
func RelationshipID(key string) domain.RelationshipID {
	return domain.RelationshipID(uuid.NewSHA1(Namespace, []byte("demo/relationship/"+key)).String())
}

// competitor is the party the relationships add to the register.
var competitor = party{key: "competitor", name: "Contoso Cloud (competitor)", category: "competitor", scope: "external",
	owner: "Head of Sales", influence: 2, interest: 1,
	description: "EU SaaS rival bidding for the same enterprise and public sector customers."}

type relationship struct {
	key, from, to, kind, label, description string
}

var relationships = []relationship{
	{key: "hosting", from: "cloud-provider", to: PartyCustomers, kind: "other", label: "hosts customer data",
		description: "Production platform, backups and logs of every customer in two EU regions."},
	{key: "dpa-customers", from: "dpa", to: PartyCustomers, kind: "regulates",
		description: "Supervises customers as controllers of the personal data Northwind processes for them."},
	{key: "nis2-cloud", from: "nis2-authority", to: "cloud-provider", kind: "regulates",
		description: "Cloud computing service providers are essential or important entities under NIS2."},
	{key: "resellers", from: "resellers", to: PartyCustomers, kind: "represents",
		description: "Resellers sell and support the platform on Northwind's behalf."},
	{key: "certification", from: "certification-body", to: "leadership", kind: "audits", label: "ISO/IEC 27001",
		description: "Certification, surveillance and recertification audits of the ISMS top management runs."},
	{key: "shareholders-board", from: "shareholders", to: "board", kind: "influences",
		description: "Founders and funds hold board seats."},
	{key: "board-leadership", from: "board", to: "leadership", kind: "other", label: "oversees",
		description: "The audit and risk committee oversees information security."},
	{key: "insurer", from: "insurer", to: "leadership", kind: "contracts_with", label: "cyber policy",
		description: "Cyber liability cover with security conditions the leadership team signs off."},
	{key: "payroll", from: "payflow", to: "employees", kind: "supplies", label: "payroll",
		description: "Payroll and HR records of every employee."},
	{key: "office", from: "landlord", to: "employees", kind: "supplies", label: "office",
		description: "Dublin HQ, reception, access cards and building CCTV."},
	{key: "gov-hosting", from: PartyGovernmentCustomers, to: "cloud-provider", kind: "depends_on", label: "EU data residency",
		description: "The framework agreement requires data to stay in EU regions."},
	{key: "competitor", from: "competitor", to: PartyCustomers, kind: "competes_with", label: "for the same contracts",
		description: "Bids against Northwind in enterprise and public sector tenders."},
}

// baselineRelationships identifies the competitor and establishes the
// relationships, before the review.
func (l *loader) baselineRelationships() error {
	if err := l.identifyParty(competitor, "Competitor analysis for the 2026 context review", "periodic_review"); err != nil {
		return err
	}
	for _, r := range relationships {
		cmd := domain.EstablishRelationship{Meta: l.meta("Relational mapping in the 2026 context analysis workshop", "periodic_review"),
			RelationshipID: RelationshipID(r.key), FromPartyID: PartyID(r.from), ToPartyID: PartyID(r.to),
			Kind: r.kind, Label: r.label, Description: r.description}
		if err := l.do("establish relationship "+r.key, func() (commands.Result, error) {
			return l.c.EstablishRelationship(l.ctx, cmd)
		}); err != nil {
			return err
		}
	}
	return nil
}

// relationshipsAfterReview revises one relationship, ends one and adds
// one: the changes the map since the review highlights.
func (l *loader) relationshipsAfterReview() error {
	label := "DACH and Nordics"
	steps := []struct {
		what string
		run  func() (commands.Result, error)
	}{
		{"revise relationship resellers", func() (commands.Result, error) {
			return l.c.ReviseRelationship(l.ctx, domain.ReviseRelationship{
				Meta:           l.meta("Reseller agreements now limited to DACH and the Nordics", "contract_change"),
				RelationshipID: RelationshipID("resellers"), Label: &label}, nil)
		}},
		{"end relationship office", func() (commands.Result, error) {
			return l.c.EndRelationship(l.ctx, domain.EndRelationship{
				Meta:           l.meta("Building access and CCTV now run by the new facilities provider", "contract_change"),
				RelationshipID: RelationshipID("office")}, nil)
		}},
		{"establish relationship researchers", func() (commands.Result, error) {
			return l.c.EstablishRelationship(l.ctx, domain.EstablishRelationship{
				Meta:           l.meta("A public disclosure reached customers before the fix", "incident"),
				RelationshipID: RelationshipID("researchers"), FromPartyID: PartyID("researchers"),
				ToPartyID: PartyID(PartyCustomers), Kind: "influences", Label: "public disclosure",
				Description: "Coordinated disclosures shape customers' trust in the platform."})
		}},
	}
	for _, s := range steps {
		if err := l.do(s.what, s.run); err != nil {
			return err
		}
	}
	return nil
}
