package domain_test

import (
	"strings"
	"testing"

	"github.com/partyledger/partyledger/domain"
)

// identifiedA is the PartyIdentified event every party test starts from.
func identifiedA() domain.PartyIdentified {
	return domain.PartyIdentified{PartyID: idA, Name: "Acme Bank", Category: "customer",
		Scope: "external", Description: "Largest customer; card payments.", Owner: "Head of Sales",
		Influence: 4, Interest: 3}
}

func identifiedAUnder(parent domain.PartyID) domain.PartyIdentified {
	e := identifiedA()
	e.ParentID = &parent
	return e
}

var retiredA = domain.PartyRetired{PartyID: idA,
	Changes: domain.Changes{"status": {From: "active", To: "retired"}}}

func TestPartyIdentify(t *testing.T) {
	valid := func(edit func(*domain.IdentifyParty)) domain.IdentifyParty {
		c := domain.IdentifyParty{Meta: meta, PartyID: idN, Name: "  Northwind Insurance  ",
			Category: "insurer", Scope: "external", Description: "Cyber insurer.\nPolicy CY-1.",
			Owner: " CFO ", Influence: 2, Interest: 5}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	validEvent := func(edit func(*domain.PartyIdentified)) []domain.Event {
		e := domain.PartyIdentified{PartyID: idN, Name: "Northwind Insurance", Category: "insurer",
			Scope: "external", Description: "Cyber insurer.\nPolicy CY-1.", Owner: "CFO",
			Influence: 2, Interest: 5}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}

	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.IdentifyParty
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "valid, trims name and owner", cmd: valid(nil), want: validEvent(nil)},
		{name: "valid with parent",
			cmd:  valid(func(c *domain.IdentifyParty) { c.ParentID = ptr(idP) }),
			want: validEvent(func(e *domain.PartyIdentified) { e.ParentID = ptr(idP) })},
		{name: "name of 200 characters",
			cmd:  valid(func(c *domain.IdentifyParty) { c.Name = strings.Repeat("é", 200) }),
			want: validEvent(func(e *domain.PartyIdentified) { e.Name = strings.Repeat("é", 200) })},
		{name: "influence and interest at the bounds",
			cmd:  valid(func(c *domain.IdentifyParty) { c.Influence, c.Interest = 1, 5 }),
			want: validEvent(func(e *domain.PartyIdentified) { e.Influence, e.Interest = 1, 5 })},
		{name: "name of a retired party may be reused",
			cmd:  valid(func(c *domain.IdentifyParty) { c.Name = "legacy bank" }),
			want: validEvent(func(e *domain.PartyIdentified) { e.Name = "legacy bank" })},
		{name: "no trigger is fine",
			cmd:  valid(func(c *domain.IdentifyParty) { c.Trigger = "" }),
			want: validEvent(nil)},
		{name: "no reason is fine",
			cmd:  valid(func(c *domain.IdentifyParty) { c.Reason = "" }),
			want: validEvent(nil)},

		{name: "party already exists", history: []domain.Event{identifiedA()},
			cmd:      valid(func(c *domain.IdentifyParty) { c.PartyID = idA }),
			wantCode: domain.ECONFLICT},
		{name: "name taken", cmd: valid(func(c *domain.IdentifyParty) { c.Name = "Acme Bank" }),
			wantCode: domain.ECONFLICT, wantFields: []string{"name"}},
		{name: "name taken ignoring case and spaces",
			cmd:      valid(func(c *domain.IdentifyParty) { c.Name = "  aCME bank " }),
			wantCode: domain.ECONFLICT, wantFields: []string{"name"}},

		{name: "name empty", cmd: valid(func(c *domain.IdentifyParty) { c.Name = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name blank", cmd: valid(func(c *domain.IdentifyParty) { c.Name = " \t " }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name of 201 characters",
			cmd:      valid(func(c *domain.IdentifyParty) { c.Name = strings.Repeat("x", 201) }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name invalid UTF-8", cmd: valid(func(c *domain.IdentifyParty) { c.Name = "Acme \xff" }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name with NUL", cmd: valid(func(c *domain.IdentifyParty) { c.Name = "Acme\x00Bank" }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name with C1 control", cmd: valid(func(c *domain.IdentifyParty) { c.Name = "Acme\u0085Bank" }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name on two lines", cmd: valid(func(c *domain.IdentifyParty) { c.Name = "Acme\nBank" }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "description with control character",
			cmd:      valid(func(c *domain.IdentifyParty) { c.Description = "bell\a" }),
			wantCode: domain.EINVALID, wantFields: []string{"description"}},
		{name: "owner too long",
			cmd:      valid(func(c *domain.IdentifyParty) { c.Owner = strings.Repeat("o", 201) }),
			wantCode: domain.EINVALID, wantFields: []string{"owner"}},
		{name: "category unknown", cmd: valid(func(c *domain.IdentifyParty) { c.Category = "alien" }),
			wantCode: domain.EINVALID, wantFields: []string{"category"}},
		{name: "category missing", cmd: valid(func(c *domain.IdentifyParty) { c.Category = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"category"}},
		{name: "category wrong case", cmd: valid(func(c *domain.IdentifyParty) { c.Category = "Customer" }),
			wantCode: domain.EINVALID, wantFields: []string{"category"}},
		{name: "scope unknown", cmd: valid(func(c *domain.IdentifyParty) { c.Scope = "both" }),
			wantCode: domain.EINVALID, wantFields: []string{"scope"}},
		{name: "influence 0", cmd: valid(func(c *domain.IdentifyParty) { c.Influence = 0 }),
			wantCode: domain.EINVALID, wantFields: []string{"influence"}},
		{name: "influence 6", cmd: valid(func(c *domain.IdentifyParty) { c.Influence = 6 }),
			wantCode: domain.EINVALID, wantFields: []string{"influence"}},
		{name: "interest 0", cmd: valid(func(c *domain.IdentifyParty) { c.Interest = 0 }),
			wantCode: domain.EINVALID, wantFields: []string{"interest"}},
		{name: "interest 6", cmd: valid(func(c *domain.IdentifyParty) { c.Interest = 6 }),
			wantCode: domain.EINVALID, wantFields: []string{"interest"}},
		{name: "id not a UUID", cmd: valid(func(c *domain.IdentifyParty) { c.PartyID = "acme" }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
		{name: "id upper-case UUID",
			cmd:      valid(func(c *domain.IdentifyParty) { c.PartyID = domain.PartyID(strings.ToUpper(string(idN))) }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
		{name: "actor missing", cmd: valid(func(c *domain.IdentifyParty) { c.Actor = " " }),
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "trigger unknown", cmd: valid(func(c *domain.IdentifyParty) { c.Trigger = "whim" }),
			wantCode: domain.EINVALID, wantFields: []string{"trigger"}},
		{name: "reason invalid UTF-8", cmd: valid(func(c *domain.IdentifyParty) { c.Reason = "\xc3" }),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "every bad field reported at once",
			cmd: valid(func(c *domain.IdentifyParty) {
				c.Actor, c.PartyID, c.Name, c.Category, c.Scope, c.Influence = "", "x", "", "", "", 9
			}),
			wantCode: domain.EINVALID, wantFields: []string{"actor", "id", "name", "category", "scope", "influence"}},

		{name: "parent is itself", cmd: valid(func(c *domain.IdentifyParty) { c.ParentID = ptr(idN) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent missing", cmd: valid(func(c *domain.IdentifyParty) { c.ParentID = ptr(idGap) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent retired", cmd: valid(func(c *domain.IdentifyParty) { c.ParentID = ptr(idR) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent not a UUID", cmd: valid(func(c *domain.IdentifyParty) { c.ParentID = ptr(domain.PartyID("")) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.Identify(tc.cmd, testDirectory(), now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestPartyRevise(t *testing.T) {
	active := []domain.Event{identifiedA()}
	underP := []domain.Event{identifiedAUnder(idP)}
	underRetired := []domain.Event{identifiedAUnder(idR)}
	retired := []domain.Event{identifiedA(), retiredA}
	cmd := func(edit func(*domain.ReviseParty)) domain.ReviseParty {
		c := domain.ReviseParty{Meta: meta, PartyID: idA}
		edit(&c)
		return c
	}
	revised := func(ch domain.Changes) []domain.Event {
		return []domain.Event{domain.PartyRevised{PartyID: idA, Changes: ch}}
	}

	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.ReviseParty
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "rename", history: active,
			cmd:  cmd(func(c *domain.ReviseParty) { c.Name = ptr(" Acme Bank plc ") }),
			want: revised(domain.Changes{"name": {From: "Acme Bank", To: "Acme Bank plc"}})},
		{name: "rename to own name in another case", history: active,
			cmd:  cmd(func(c *domain.ReviseParty) { c.Name = ptr("ACME BANK") }),
			want: revised(domain.Changes{"name": {From: "Acme Bank", To: "ACME BANK"}})},
		{name: "rename to a retired party's name", history: active,
			cmd:  cmd(func(c *domain.ReviseParty) { c.Name = ptr("Legacy Bank") }),
			want: revised(domain.Changes{"name": {From: "Acme Bank", To: "Legacy Bank"}})},
		{name: "every field", history: active,
			cmd: cmd(func(c *domain.ReviseParty) {
				c.Name, c.Category, c.Scope = ptr("Acme Group"), ptr("partner"), ptr("internal")
				c.Description, c.Owner = ptr("Now a partner."), ptr(" COO ")
				c.Influence, c.Interest, c.ParentID = ptr(5), ptr(1), ptr(idP)
			}),
			want: revised(domain.Changes{
				"name":        {From: "Acme Bank", To: "Acme Group"},
				"category":    {From: "customer", To: "partner"},
				"scope":       {From: "external", To: "internal"},
				"description": {From: "Largest customer; card payments.", To: "Now a partner."},
				"owner":       {From: "Head of Sales", To: "COO"},
				"influence":   {From: 4, To: 5},
				"interest":    {From: 3, To: 1},
				"parent_id":   {From: nil, To: string(idP)},
			})},
		{name: "clear description", history: active,
			cmd:  cmd(func(c *domain.ReviseParty) { c.Description = ptr("") }),
			want: revised(domain.Changes{"description": {From: "Largest customer; card payments.", To: ""}})},
		{name: "same values change nothing", history: active,
			cmd: cmd(func(c *domain.ReviseParty) {
				c.Name, c.Category, c.Owner = ptr(" Acme Bank"), ptr("customer"), ptr("Head of Sales ")
				c.Influence, c.Interest = ptr(4), ptr(3)
			}),
			want: nil},
		{name: "no fields change nothing", history: active,
			cmd: cmd(func(c *domain.ReviseParty) {}), want: nil},

		{name: "set parent", history: active,
			cmd:  cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idP) }),
			want: revised(domain.Changes{"parent_id": {From: nil, To: string(idP)}})},
		{name: "move to another parent", history: underP,
			cmd:  cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idOtherActive) }),
			want: revised(domain.Changes{"parent_id": {From: string(idP), To: string(idOtherActive)}})},
		{name: "remove parent", history: underP,
			cmd:  cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(domain.PartyID("")) }),
			want: revised(domain.Changes{"parent_id": {From: string(idP), To: nil}})},
		{name: "remove absent parent changes nothing", history: active,
			cmd: cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(domain.PartyID("")) }), want: nil},
		{name: "restate a parent retired since changes nothing", history: underRetired,
			cmd: cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idR) }), want: nil},
		{name: "parent is itself", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idA) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent missing", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idGap) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent retired", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idR) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent is a child: cycle", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idC) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},
		{name: "parent is a grandchild: cycle", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.ParentID = ptr(idG) }),
			wantCode: domain.EINVALID, wantFields: []string{"parent_id"}},

		{name: "name taken by another party", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Name = ptr(" acme RETAIL ") }),
			wantCode: domain.ECONFLICT, wantFields: []string{"name"}},
		{name: "name empty", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Name = ptr("  ") }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name of 201 characters", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Name = ptr(strings.Repeat("n", 201)) }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name invalid UTF-8", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Name = ptr("\xfe\xff") }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "name with control character", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Name = ptr("Acme\x1bBank") }),
			wantCode: domain.EINVALID, wantFields: []string{"name"}},
		{name: "category unknown", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Category = ptr("friend") }),
			wantCode: domain.EINVALID, wantFields: []string{"category"}},
		{name: "scope empty", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Scope = ptr("") }),
			wantCode: domain.EINVALID, wantFields: []string{"scope"}},
		{name: "influence 0", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Influence = ptr(0) }),
			wantCode: domain.EINVALID, wantFields: []string{"influence"}},
		{name: "interest 6", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Interest = ptr(6) }),
			wantCode: domain.EINVALID, wantFields: []string{"interest"}},
		{name: "reason missing", history: active,
			cmd: cmd(func(c *domain.ReviseParty) {
				c.Reason = " "
				c.Influence = ptr(5)
			}),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "reason missing even when nothing changes", history: active,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Reason = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "actor missing", history: active,
			cmd: cmd(func(c *domain.ReviseParty) {
				c.Actor = ""
				c.Influence = ptr(5)
			}),
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "trigger unknown", history: active,
			cmd: cmd(func(c *domain.ReviseParty) {
				c.Trigger = "Incident"
				c.Influence = ptr(5)
			}),
			wantCode: domain.EINVALID, wantFields: []string{"trigger"}},

		{name: "retired party", history: retired,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Influence = ptr(5) }),
			wantCode: domain.ECONFLICT},
		{name: "unknown party", history: nil,
			cmd:      cmd(func(c *domain.ReviseParty) { c.Influence = ptr(5) }),
			wantCode: domain.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			dir := testDirectory()
			dir[idOtherActive] = dirParty{name: "Banks", status: domain.StatusActive}
			got, err := p.Revise(tc.cmd, dir, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

// idOtherActive is a second active parent for moves between parents.
const idOtherActive domain.PartyID = "01975f2a-0000-7000-8000-000000000012"

func TestPartyRetire(t *testing.T) {
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.RetireParty
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "active party", history: []domain.Event{identifiedA()},
			cmd:  domain.RetireParty{Meta: meta, PartyID: idA},
			want: []domain.Event{retiredA}},
		{name: "reason missing", history: []domain.Event{identifiedA()},
			cmd:      domain.RetireParty{Meta: domain.Meta{Actor: "alice"}, PartyID: idA},
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "actor missing and trigger unknown", history: []domain.Event{identifiedA()},
			cmd:      domain.RetireParty{Meta: domain.Meta{Reason: "gone", Trigger: "boredom"}, PartyID: idA},
			wantCode: domain.EINVALID, wantFields: []string{"actor", "trigger"}},
		{name: "already retired", history: []domain.Event{identifiedA(), retiredA},
			cmd: domain.RetireParty{Meta: meta, PartyID: idA}, wantCode: domain.ECONFLICT},
		{name: "unknown party", cmd: domain.RetireParty{Meta: meta, PartyID: idGap},
			wantCode: domain.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := MustFold(t, tc.history...)
			got, err := p.Retire(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

// TestNotFoundNamesTheParty checks that a decision against an empty stream
// names the party the command asked for, not the empty state's ID.
func TestNotFoundNamesTheParty(t *testing.T) {
	p := domain.FoldParty(nil)
	_, err := p.Retire(domain.RetireParty{Meta: meta, PartyID: idGap}, now)
	if got := domain.ErrorCode(err); got != domain.ENOTFOUND {
		t.Fatalf("code = %q, want %q", got, domain.ENOTFOUND)
	}
	if !strings.Contains(err.Error(), string(idGap)) {
		t.Errorf("error %q does not name party %s", err, idGap)
	}
}

// TestDecisionsDoNotAliasCommands checks that events and folded state never
// share memory with the command, so a caller may reuse its variables.
func TestDecisionsDoNotAliasCommands(t *testing.T) {
	p := MustFold(t, identifiedA(), reqIdentified(idR1, "Encrypt card data at rest"))
	yes := true
	controls := []string{"A.8.24"}
	evs, err := p.DecideAddressing(domain.DecideAddressing{Meta: meta, PartyID: idA, RequirementID: idR1,
		Addressed: &yes, Rationale: "contract", Controls: controls}, now)
	if err != nil {
		t.Fatal(err)
	}
	p.Apply(evs[0])
	yes, controls[0] = false, "A.5.1"
	e := evs[0].(domain.RequirementAddressingDecided)
	if !*e.Addressed || e.Controls[0] != "A.8.24" {
		t.Errorf("event changed with the command: addressed=%v controls=%v", *e.Addressed, e.Controls)
	}
	r := p.Requirements[idR1]
	if !*r.Addressed || r.Controls[0] != "A.8.24" {
		t.Errorf("state changed with the command: addressed=%v controls=%v", *r.Addressed, r.Controls)
	}
}
