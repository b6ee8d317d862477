package domain_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/domain"
)

// reqIdentified is a requirement of party A as the decision records it.
func reqIdentified(id domain.RequirementID, title string) domain.RequirementIdentified {
	return domain.RequirementIdentified{PartyID: idA, RequirementID: id, Kind: "requirement",
		Title: title, Description: "Card data is encrypted at rest.", SourceType: "contract",
		SourceRef: "MSA §7.2", Owner: "CISO", Priority: "high", ReviewDue: ptr("2025-12-31"),
		Controls: []string{}}
}

func reqRetired(id domain.RequirementID) domain.RequirementRetired {
	return domain.RequirementRetired{PartyID: idA, RequirementID: id,
		Changes: domain.Changes{"status": {From: "active", To: "retired"}}}
}

// withRequirements is party A with an active R1, a retired R2 and an active R3.
func withRequirements() []domain.Event {
	return []domain.Event{identifiedA(),
		reqIdentified(idR1, "Encrypt card data at rest"),
		reqIdentified(idR2, "Old SLA"), reqRetired(idR2),
		reqIdentified(idR3, "Quarterly security report"),
	}
}

func appendEvents(base []domain.Event, more ...domain.Event) []domain.Event {
	return append(append([]domain.Event(nil), base...), more...)
}

func TestPartyIdentifyRequirement(t *testing.T) {
	valid := func(edit func(*domain.IdentifyRequirement)) domain.IdentifyRequirement {
		c := domain.IdentifyRequirement{Meta: meta, PartyID: idA, RequirementID: idRN,
			Kind: "expectation", Title: "  Breach notice within 24 hours "}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	validEvent := func(edit func(*domain.RequirementIdentified)) []domain.Event {
		e := domain.RequirementIdentified{PartyID: idA, RequirementID: idRN, Kind: "expectation",
			Title: "Breach notice within 24 hours", SourceType: "other", Priority: "medium",
			Controls: []string{}}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	many := make([]string, domain.MaxControls+1)
	for i := range many {
		many[i] = fmt.Sprintf("A.5.%d", i)
	}

	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.IdentifyRequirement
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "minimal, with defaults", history: withRequirements(), cmd: valid(nil), want: validEvent(nil)},
		{name: "every field", history: withRequirements(),
			cmd: valid(func(c *domain.IdentifyRequirement) {
				c.Kind, c.Description, c.SourceType, c.SourceRef = "requirement", "Art. 33.", "law", " GDPR Art. 33 "
				c.Owner, c.Priority, c.ReviewDue = " DPO ", "critical", "2026-01-31"
				c.Addressed, c.Rationale, c.Treatment = ptr(true), "Legal duty.", "Incident process."
				c.Controls = []string{"A.5.24", "A.5.26"}
			}),
			want: validEvent(func(e *domain.RequirementIdentified) {
				e.Kind, e.Description, e.SourceType, e.SourceRef = "requirement", "Art. 33.", "law", "GDPR Art. 33"
				e.Owner, e.Priority, e.ReviewDue = "DPO", "critical", ptr("2026-01-31")
				e.Addressed, e.Rationale, e.Treatment = ptr(true), "Legal duty.", "Incident process."
				e.Controls = []string{"A.5.24", "A.5.26"}
			})},
		{name: "title of a retired requirement may be reused", history: withRequirements(),
			cmd:  valid(func(c *domain.IdentifyRequirement) { c.Title = "old sla" }),
			want: validEvent(func(e *domain.RequirementIdentified) { e.Title = "old sla" })},
		{name: "first requirement of a party", history: []domain.Event{identifiedA()},
			cmd: valid(nil), want: validEvent(nil)},

		{name: "title taken by an active requirement", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Title = " ENCRYPT card data at rest" }),
			wantCode: domain.ECONFLICT, wantFields: []string{"title"}},
		{name: "requirement id already used", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.RequirementID = idR2 }),
			wantCode: domain.ECONFLICT},
		{name: "retired party", history: []domain.Event{identifiedA(), retiredA},
			cmd: valid(nil), wantCode: domain.ECONFLICT},
		{name: "unknown party", cmd: valid(nil), wantCode: domain.ENOTFOUND},

		{name: "title empty", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Title = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "title of 201 characters", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Title = strings.Repeat("t", 201) }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "title invalid UTF-8", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Title = "a\x80b" }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "title with control character", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Title = "a\x7fb" }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "kind missing", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Kind = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "kind unknown", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Kind = "wish" }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "source type unknown", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.SourceType = "rumour" }),
			wantCode: domain.EINVALID, wantFields: []string{"source_type"}},
		{name: "priority unknown", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Priority = "urgent" }),
			wantCode: domain.EINVALID, wantFields: []string{"priority"}},
		{name: "review date not a date", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.ReviewDue = "31/12/2025" }),
			wantCode: domain.EINVALID, wantFields: []string{"review_due"}},
		{name: "review date out of range", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.ReviewDue = "2025-02-30" }),
			wantCode: domain.EINVALID, wantFields: []string{"review_due"}},
		{name: "id not a UUID", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.RequirementID = "R-1" }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
		{name: "actor missing", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Actor = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "trigger unknown", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Trigger = "audit" }),
			wantCode: domain.EINVALID, wantFields: []string{"trigger"}},
		{name: "control listed twice", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Controls = []string{"A.5.1", "A.5.1"} }),
			wantCode: domain.EINVALID, wantFields: []string{"controls"}},
		{name: "control empty", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Controls = []string{" "} }),
			wantCode: domain.EINVALID, wantFields: []string{"controls"}},
		{name: "control too long", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Controls = []string{strings.Repeat("A", 51)} }),
			wantCode: domain.EINVALID, wantFields: []string{"controls"}},
		{name: "too many controls", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Controls = many }),
			wantCode: domain.EINVALID, wantFields: []string{"controls"}},
		{name: "rationale with control character", history: withRequirements(),
			cmd:      valid(func(c *domain.IdentifyRequirement) { c.Rationale = "\x00" }),
			wantCode: domain.EINVALID, wantFields: []string{"rationale"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.IdentifyRequirement(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestPartyReviseRequirement(t *testing.T) {
	cmd := func(id domain.RequirementID, edit func(*domain.ReviseRequirement)) domain.ReviseRequirement {
		c := domain.ReviseRequirement{Meta: meta, PartyID: idA, RequirementID: id}
		edit(&c)
		return c
	}
	revised := func(ch domain.Changes) []domain.Event {
		return []domain.Event{domain.RequirementRevised{PartyID: idA, RequirementID: idR1, Changes: ch}}
	}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.ReviseRequirement
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "retitle", history: withRequirements(),
			cmd:  cmd(idR1, func(c *domain.ReviseRequirement) { c.Title = ptr(" Encrypt cardholder data ") }),
			want: revised(domain.Changes{"title": {From: "Encrypt card data at rest", To: "Encrypt cardholder data"}})},
		{name: "retitle in another case", history: withRequirements(),
			cmd:  cmd(idR1, func(c *domain.ReviseRequirement) { c.Title = ptr("ENCRYPT CARD DATA AT REST") }),
			want: revised(domain.Changes{"title": {From: "Encrypt card data at rest", To: "ENCRYPT CARD DATA AT REST"}})},
		{name: "retitle to a retired requirement's title", history: withRequirements(),
			cmd:  cmd(idR1, func(c *domain.ReviseRequirement) { c.Title = ptr("Old SLA") }),
			want: revised(domain.Changes{"title": {From: "Encrypt card data at rest", To: "Old SLA"}})},
		{name: "every field", history: withRequirements(),
			cmd: cmd(idR1, func(c *domain.ReviseRequirement) {
				c.Kind, c.Description, c.SourceType = ptr("expectation"), ptr("Softer now."), ptr("sla")
				c.SourceRef, c.Owner, c.Priority, c.ReviewDue = ptr(" SLA §3 "), ptr(" CTO "), ptr("low"), ptr("2026-03-31")
			}),
			want: revised(domain.Changes{
				"kind":        {From: "requirement", To: "expectation"},
				"description": {From: "Card data is encrypted at rest.", To: "Softer now."},
				"source_type": {From: "contract", To: "sla"},
				"source_ref":  {From: "MSA §7.2", To: "SLA §3"},
				"owner":       {From: "CISO", To: "CTO"},
				"priority":    {From: "high", To: "low"},
				"review_due":  {From: "2025-12-31", To: "2026-03-31"},
			})},
		{name: "clear review date", history: withRequirements(),
			cmd:  cmd(idR1, func(c *domain.ReviseRequirement) { c.ReviewDue = ptr("") }),
			want: revised(domain.Changes{"review_due": {From: "2025-12-31", To: nil}})},
		{name: "set review date where there was none",
			history: appendEvents(withRequirements(), domain.RequirementRevised{PartyID: idA, RequirementID: idR1,
				Changes: domain.Changes{"review_due": {From: "2025-12-31", To: nil}}}),
			cmd:  cmd(idR1, func(c *domain.ReviseRequirement) { c.ReviewDue = ptr("2026-06-30") }),
			want: revised(domain.Changes{"review_due": {From: nil, To: "2026-06-30"}})},
		{name: "same values change nothing", history: withRequirements(),
			cmd: cmd(idR1, func(c *domain.ReviseRequirement) {
				c.Title, c.Kind, c.Owner, c.ReviewDue = ptr("Encrypt card data at rest "), ptr("requirement"), ptr(" CISO"), ptr("2025-12-31")
			}),
			want: nil},

		{name: "title of another active requirement", history: withRequirements(),
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.Title = ptr("quarterly security REPORT") }),
			wantCode: domain.ECONFLICT, wantFields: []string{"title"}},
		{name: "title empty", history: withRequirements(),
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.Title = ptr("") }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "title of 201 characters", history: withRequirements(),
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.Title = ptr(strings.Repeat("t", 201)) }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "kind unknown", history: withRequirements(),
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.Kind = ptr("") }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "source type and priority unknown", history: withRequirements(),
			cmd: cmd(idR1, func(c *domain.ReviseRequirement) {
				c.SourceType, c.Priority = ptr("gossip"), ptr("HIGH")
			}),
			wantCode: domain.EINVALID, wantFields: []string{"source_type", "priority"}},
		{name: "review date not a date", history: withRequirements(),
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.ReviewDue = ptr("2025-12-31T00:00:00Z") }),
			wantCode: domain.EINVALID, wantFields: []string{"review_due"}},
		{name: "reason missing", history: withRequirements(),
			cmd: cmd(idR1, func(c *domain.ReviseRequirement) {
				c.Reason = ""
				c.Priority = ptr("low")
			}),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "actor missing", history: withRequirements(),
			cmd: cmd(idR1, func(c *domain.ReviseRequirement) {
				c.Actor = ""
				c.Priority = ptr("low")
			}),
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "retired requirement", history: withRequirements(),
			cmd:      cmd(idR2, func(c *domain.ReviseRequirement) { c.Priority = ptr("low") }),
			wantCode: domain.ECONFLICT},
		{name: "unknown requirement", history: withRequirements(),
			cmd:      cmd(idRX, func(c *domain.ReviseRequirement) { c.Priority = ptr("low") }),
			wantCode: domain.ENOTFOUND},
		{name: "retired party", history: appendEvents(withRequirements(), retiredA),
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.Priority = ptr("low") }),
			wantCode: domain.ECONFLICT},
		{name: "unknown party",
			cmd:      cmd(idR1, func(c *domain.ReviseRequirement) { c.Priority = ptr("low") }),
			wantCode: domain.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.ReviseRequirement(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

// The addressing decisions of R1, in the order null → true → false → null.
var (
	decidedYes = domain.RequirementAddressingDecided{PartyID: idA, RequirementID: idR1,
		Addressed: ptr(true), Rationale: "Contractual duty.", Treatment: "Encrypt with KMS.",
		Controls: []string{"A.8.24", "A.5.19"},
		Changes: domain.Changes{
			"addressed": {From: nil, To: true},
			"rationale": {From: "", To: "Contractual duty."},
			"treatment": {From: "", To: "Encrypt with KMS."},
			"controls":  {From: []string{}, To: []string{"A.8.24", "A.5.19"}},
		}}
	decidedNo = domain.RequirementAddressingDecided{PartyID: idA, RequirementID: idR1,
		Addressed: ptr(false), Rationale: "Contract ended.", Controls: []string{},
		Changes: domain.Changes{
			"addressed": {From: true, To: false},
			"rationale": {From: "Contractual duty.", To: "Contract ended."},
			"treatment": {From: "Encrypt with KMS.", To: ""},
			"controls":  {From: []string{"A.8.24", "A.5.19"}, To: []string{}},
		}}
	decidedUndecided = domain.RequirementAddressingDecided{PartyID: idA, RequirementID: idR1,
		Addressed: nil, Rationale: "Contract ended.", Controls: []string{},
		Changes: domain.Changes{"addressed": {From: false, To: nil}}}
)

func TestPartyDecideAddressing(t *testing.T) {
	decide := func(addressed *bool, rationale, treatment string, controls ...string) domain.DecideAddressing {
		return domain.DecideAddressing{Meta: meta, PartyID: idA, RequirementID: idR1,
			Addressed: addressed, Rationale: rationale, Treatment: treatment, Controls: controls}
	}
	yes := decide(ptr(true), "Contractual duty.", "Encrypt with KMS.", "A.8.24", "A.5.19")
	with := func(c domain.DecideAddressing, edit func(*domain.DecideAddressing)) domain.DecideAddressing {
		edit(&c)
		return c
	}
	base := withRequirements()

	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.DecideAddressing
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "undecided to yes", history: base, cmd: yes, want: []domain.Event{decidedYes}},
		{name: "yes to no", history: appendEvents(base, decidedYes),
			cmd: decide(ptr(false), "Contract ended.", ""), want: []domain.Event{decidedNo}},
		{name: "no to undecided", history: appendEvents(base, decidedYes, decidedNo),
			cmd: decide(nil, "Contract ended.", ""), want: []domain.Event{decidedUndecided}},
		{name: "same decision changes nothing", history: appendEvents(base, decidedYes),
			cmd: yes, want: nil},
		{name: "undecided again changes nothing", history: base,
			cmd: decide(nil, "", ""), want: nil},
		{name: "controls only", history: appendEvents(base, decidedYes),
			cmd: decide(ptr(true), "Contractual duty.", "Encrypt with KMS.", "A.8.24"),
			want: []domain.Event{domain.RequirementAddressingDecided{PartyID: idA, RequirementID: idR1,
				Addressed: ptr(true), Rationale: "Contractual duty.", Treatment: "Encrypt with KMS.",
				Controls: []string{"A.8.24"},
				Changes:  domain.Changes{"controls": {From: []string{"A.8.24", "A.5.19"}, To: []string{"A.8.24"}}}}}},
		{name: "controls reordered", history: appendEvents(base, decidedYes),
			cmd: decide(ptr(true), "Contractual duty.", "Encrypt with KMS.", "A.5.19", "A.8.24"),
			want: []domain.Event{domain.RequirementAddressingDecided{PartyID: idA, RequirementID: idR1,
				Addressed: ptr(true), Rationale: "Contractual duty.", Treatment: "Encrypt with KMS.",
				Controls: []string{"A.5.19", "A.8.24"},
				Changes:  domain.Changes{"controls": {From: []string{"A.8.24", "A.5.19"}, To: []string{"A.5.19", "A.8.24"}}}}}},
		{name: "decided at identification, then undecided",
			history: appendEvents([]domain.Event{identifiedA()}, func() domain.Event {
				e := reqIdentified(idR1, "Encrypt card data at rest")
				e.Addressed, e.Rationale = ptr(false), "Out of scope."
				return e
			}()),
			cmd: decide(nil, "Out of scope.", ""),
			want: []domain.Event{domain.RequirementAddressingDecided{PartyID: idA, RequirementID: idR1,
				Rationale: "Out of scope.", Controls: []string{},
				Changes: domain.Changes{"addressed": {From: false, To: nil}}}}},

		{name: "reason missing", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Reason = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "actor missing", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Actor = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "trigger unknown", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Trigger = "management-review" }),
			wantCode: domain.EINVALID, wantFields: []string{"trigger"}},
		{name: "control listed twice", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Controls = []string{"A.8.24", "A.8.24"} }),
			wantCode: domain.EINVALID, wantFields: []string{"controls"}},
		{name: "control on two lines", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Controls = []string{"A.8\n.24"} }),
			wantCode: domain.EINVALID, wantFields: []string{"controls"}},
		{name: "rationale invalid UTF-8", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Rationale = "\xff" }),
			wantCode: domain.EINVALID, wantFields: []string{"rationale"}},
		{name: "treatment too long", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.Treatment = strings.Repeat("t", domain.MaxTextLen+1) }),
			wantCode: domain.EINVALID, wantFields: []string{"treatment"}},
		{name: "retired requirement", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.RequirementID = idR2 }),
			wantCode: domain.ECONFLICT},
		{name: "unknown requirement", history: base,
			cmd:      with(yes, func(c *domain.DecideAddressing) { c.RequirementID = idRX }),
			wantCode: domain.ENOTFOUND},
		{name: "retired party", history: appendEvents(base, retiredA), cmd: yes, wantCode: domain.ECONFLICT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.DecideAddressing(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestPartyRetireRequirement(t *testing.T) {
	retire := func(id domain.RequirementID) domain.RetireRequirement {
		return domain.RetireRequirement{Meta: meta, PartyID: idA, RequirementID: id}
	}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.RetireRequirement
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "active requirement", history: withRequirements(), cmd: retire(idR1),
			want: []domain.Event{reqRetired(idR1)}},
		{name: "reason missing", history: withRequirements(),
			cmd:      domain.RetireRequirement{Meta: domain.Meta{Actor: "alice"}, PartyID: idA, RequirementID: idR1},
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "actor missing", history: withRequirements(),
			cmd:      domain.RetireRequirement{Meta: domain.Meta{Reason: "superseded"}, PartyID: idA, RequirementID: idR1},
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "already retired", history: withRequirements(), cmd: retire(idR2), wantCode: domain.ECONFLICT},
		{name: "unknown requirement", history: withRequirements(), cmd: retire(idRX), wantCode: domain.ENOTFOUND},
		{name: "retired party", history: appendEvents(withRequirements(), retiredA), cmd: retire(idR1),
			wantCode: domain.ECONFLICT},
		{name: "unknown party", cmd: retire(idR1), wantCode: domain.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.RetireRequirement(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

// TestRetiredTitleReusable walks the whole rule: a title is taken while its
// requirement is active and free again once it is retired.
func TestRetiredTitleReusable(t *testing.T) {
	p := MustFold(t, identifiedA(), reqIdentified(idR1, "Encrypt card data at rest"))
	again := domain.IdentifyRequirement{Meta: meta, PartyID: idA, RequirementID: idRN,
		Kind: "requirement", Title: "encrypt card data at rest"}
	if _, err := p.IdentifyRequirement(again, now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Fatalf("title of an active requirement: err = %v, want %s", err, domain.ECONFLICT)
	}
	evs, err := p.RetireRequirement(domain.RetireRequirement{Meta: meta, PartyID: idA, RequirementID: idR1}, now)
	if err != nil {
		t.Fatal(err)
	}
	p = MustFold(t, append([]domain.Event{identifiedA(), reqIdentified(idR1, "Encrypt card data at rest")}, evs...)...)
	if _, err := p.IdentifyRequirement(again, now); err != nil {
		t.Fatalf("title of a retired requirement: %v", err)
	}
}
