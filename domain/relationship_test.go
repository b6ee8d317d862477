package domain_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

const (
	idRel  domain.RelationshipID = "01975f2f-0000-7000-8000-000000000001" // A supplies P, active
	idRel2 domain.RelationshipID = "01975f2f-0000-7000-8000-000000000002" // A influences P, active
	idRelN domain.RelationshipID = "01975f2f-0000-7000-8000-000000000010" // a new relationship
)

// activeRel is one active relationship as the read model knows it.
type activeRel struct {
	from, to domain.PartyID
	kind     string
}

// relDirectory implements [domain.RelationshipDirectory] over the party
// test register and a set of active relationships.
type relDirectory struct {
	parties mapDirectory
	active  map[domain.RelationshipID]activeRel
}

func (d relDirectory) PartyStatus(id domain.PartyID) string { return d.parties.PartyStatus(id) }

func (d relDirectory) ActiveRelationship(from, to domain.PartyID, kind string) (domain.RelationshipID, bool) {
	for id, r := range d.active {
		if r.from == from && r.to == to && r.kind == kind {
			return id, true
		}
	}
	return "", false
}

func testRelDirectory() relDirectory {
	return relDirectory{parties: testDirectory(), active: map[domain.RelationshipID]activeRel{
		idRel:  {idA, idP, "supplies"},
		idRel2: {idA, idP, "influences"},
	}}
}

func establishedRel() domain.RelationshipEstablished {
	return domain.RelationshipEstablished{RelationshipID: idRel, FromPartyID: idA, ToPartyID: idP,
		Kind: "supplies", Label: "hosts customer data", Description: "EU region."}
}

var endedRel = domain.RelationshipEnded{RelationshipID: idRel,
	Changes: domain.Changes{"status": {From: "active", To: "ended"}}}

func MustFoldRelationship(tb testing.TB, events ...domain.Event) *domain.Relationship {
	tb.Helper()
	return domain.FoldRelationship(MustRoundTrip(tb, events...))
}

func TestRelationshipEstablish(t *testing.T) {
	valid := func(edit func(*domain.EstablishRelationship)) domain.EstablishRelationship {
		c := domain.EstablishRelationship{Meta: meta, RelationshipID: idRelN, FromPartyID: idC, ToPartyID: idA,
			Kind: "represents", Label: "  resells to  ", Description: "Reseller agreement RA-3."}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	tests := []struct {
		name       string
		state      []domain.Event
		cmd        domain.EstablishRelationship
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "valid, label trimmed", cmd: valid(nil), want: []domain.Event{domain.RelationshipEstablished{
			RelationshipID: idRelN, FromPartyID: idC, ToPartyID: idA, Kind: "represents", Label: "resells to",
			Description: "Reseller agreement RA-3."}}},
		{name: "other with a label", cmd: valid(func(c *domain.EstablishRelationship) { c.Kind = "other"; c.Label = "shares a data centre with" }),
			want: []domain.Event{domain.RelationshipEstablished{RelationshipID: idRelN, FromPartyID: idC, ToPartyID: idA,
				Kind: "other", Label: "shares a data centre with", Description: "Reseller agreement RA-3."}}},
		{name: "same parties, other kind", cmd: valid(func(c *domain.EstablishRelationship) { c.FromPartyID, c.ToPartyID, c.Kind = idA, idP, "audits" }),
			want: []domain.Event{domain.RelationshipEstablished{RelationshipID: idRelN, FromPartyID: idA, ToPartyID: idP,
				Kind: "audits", Label: "resells to", Description: "Reseller agreement RA-3."}}},
		{name: "reverse direction is another relationship", cmd: valid(func(c *domain.EstablishRelationship) {
			c.FromPartyID, c.ToPartyID, c.Kind, c.Label = idP, idA, "supplies", ""
		}),
			want: []domain.Event{domain.RelationshipEstablished{RelationshipID: idRelN, FromPartyID: idP, ToPartyID: idA,
				Kind: "supplies", Description: "Reseller agreement RA-3."}}},
		{name: "unknown kind", cmd: valid(func(c *domain.EstablishRelationship) { c.Kind = "loves" }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "no kind", cmd: valid(func(c *domain.EstablishRelationship) { c.Kind = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "other without a label", cmd: valid(func(c *domain.EstablishRelationship) { c.Kind, c.Label = "other", "   " }),
			wantCode: domain.EINVALID, wantFields: []string{"label"}},
		{name: "multi-line label", cmd: valid(func(c *domain.EstablishRelationship) { c.Label = "a\nb" }),
			wantCode: domain.EINVALID, wantFields: []string{"label"}},
		{name: "from = to", cmd: valid(func(c *domain.EstablishRelationship) { c.ToPartyID = idC }),
			wantCode: domain.EINVALID, wantFields: []string{"to_party_id"}},
		{name: "retired from party", cmd: valid(func(c *domain.EstablishRelationship) { c.FromPartyID = idOld }),
			wantCode: domain.EINVALID, wantFields: []string{"from_party_id"}},
		{name: "retired to party", cmd: valid(func(c *domain.EstablishRelationship) { c.ToPartyID = idR }),
			wantCode: domain.EINVALID, wantFields: []string{"to_party_id"}},
		{name: "malformed party id", cmd: valid(func(c *domain.EstablishRelationship) { c.FromPartyID = "acme" }),
			wantCode: domain.EINVALID, wantFields: []string{"from_party_id"}},
		{name: "missing parties", cmd: valid(func(c *domain.EstablishRelationship) { c.FromPartyID, c.ToPartyID = "", "" }),
			wantCode: domain.EINVALID, wantFields: []string{"from_party_id", "to_party_id"}},
		{name: "party that does not exist", cmd: valid(func(c *domain.EstablishRelationship) { c.ToPartyID = idGap }),
			wantCode: domain.ENOTFOUND, wantFields: []string{"to_party_id"}},
		{name: "invalid input wins over a missing party", cmd: valid(func(c *domain.EstablishRelationship) { c.ToPartyID, c.Kind = idGap, "x" }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "duplicate active (from, to, kind)", cmd: valid(func(c *domain.EstablishRelationship) { c.FromPartyID, c.ToPartyID, c.Kind = idA, idP, "supplies" }),
			wantCode: domain.ECONFLICT, wantFields: []string{"kind"}},
		{name: "bad id, no actor, bad trigger", cmd: valid(func(c *domain.EstablishRelationship) {
			c.RelationshipID, c.Actor, c.Trigger = "x", "", "whim"
		}), wantCode: domain.EINVALID, wantFields: []string{"actor", "id", "trigger"}},
		{name: "control character in description", cmd: valid(func(c *domain.EstablishRelationship) { c.Description = "a\x00b" }),
			wantCode: domain.EINVALID, wantFields: []string{"description"}},
		{name: "stream already used", state: []domain.Event{establishedRel()}, cmd: valid(nil), wantCode: domain.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := MustFoldRelationship(t, tt.state...)
			got, err := r.Establish(tt.cmd, testRelDirectory(), now)
			checkDecision(t, got, err, tt.want, tt.wantCode, tt.wantFields)
		})
	}
}

func TestRelationshipRevise(t *testing.T) {
	rev := func(edit func(*domain.ReviseRelationship)) domain.ReviseRelationship {
		c := domain.ReviseRelationship{Meta: meta, RelationshipID: idRel}
		edit(&c)
		return c
	}
	retiredP := testRelDirectory()
	retiredP.parties[idP] = dirParty{name: "Customers", status: domain.StatusRetired}
	tests := []struct {
		name       string
		state      []domain.Event
		dir        relDirectory
		cmd        domain.ReviseRelationship
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "kind and label", state: []domain.Event{establishedRel()},
			cmd: rev(func(c *domain.ReviseRelationship) { c.Kind, c.Label = ptr("depends_on"), ptr(" runs on ") }),
			want: []domain.Event{domain.RelationshipRevised{RelationshipID: idRel, Changes: domain.Changes{
				"kind": {From: "supplies", To: "depends_on"}, "label": {From: "hosts customer data", To: "runs on"}}}}},
		{name: "description only", state: []domain.Event{establishedRel()},
			cmd: rev(func(c *domain.ReviseRelationship) { c.Description = ptr("All regions.") }),
			want: []domain.Event{domain.RelationshipRevised{RelationshipID: idRel, Changes: domain.Changes{
				"description": {From: "EU region.", To: "All regions."}}}}},
		{name: "nothing changes", state: []domain.Event{establishedRel()},
			cmd: rev(func(c *domain.ReviseRelationship) { c.Kind, c.Label = ptr("supplies"), ptr("hosts customer data") })},
		{name: "to other keeps the label", state: []domain.Event{establishedRel()},
			cmd: rev(func(c *domain.ReviseRelationship) { c.Kind = ptr("other") }),
			want: []domain.Event{domain.RelationshipRevised{RelationshipID: idRel, Changes: domain.Changes{
				"kind": {From: "supplies", To: "other"}}}}},
		{name: "to other clearing the label", state: []domain.Event{establishedRel()},
			cmd:      rev(func(c *domain.ReviseRelationship) { c.Kind, c.Label = ptr("other"), ptr("") }),
			wantCode: domain.EINVALID, wantFields: []string{"label"}},
		{name: "unknown kind", state: []domain.Event{establishedRel()},
			cmd:      rev(func(c *domain.ReviseRelationship) { c.Kind = ptr("hates") }),
			wantCode: domain.EINVALID, wantFields: []string{"kind"}},
		{name: "reason required", state: []domain.Event{establishedRel()},
			cmd:      rev(func(c *domain.ReviseRelationship) { c.Reason, c.Description = "", ptr("x") }),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "kind collides with another active relationship", state: []domain.Event{establishedRel()},
			cmd:      rev(func(c *domain.ReviseRelationship) { c.Kind = ptr("influences") }),
			wantCode: domain.ECONFLICT, wantFields: []string{"kind"}},
		{name: "does not exist", cmd: rev(func(c *domain.ReviseRelationship) { c.Description = ptr("x") }),
			wantCode: domain.ENOTFOUND},
		{name: "ended", state: []domain.Event{establishedRel(), endedRel},
			cmd: rev(func(c *domain.ReviseRelationship) { c.Description = ptr("x") }), wantCode: domain.ECONFLICT},
		{name: "a party is retired", state: []domain.Event{establishedRel()}, dir: retiredP,
			cmd: rev(func(c *domain.ReviseRelationship) { c.Description = ptr("x") }), wantCode: domain.ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir.parties == nil {
				dir = testRelDirectory()
			}
			got, err := MustFoldRelationship(t, tt.state...).Revise(tt.cmd, dir, now)
			checkDecision(t, got, err, tt.want, tt.wantCode, tt.wantFields)
		})
	}
}

func TestRelationshipEnd(t *testing.T) {
	end := domain.EndRelationship{Meta: meta, RelationshipID: idRel}
	tests := []struct {
		name       string
		state      []domain.Event
		cmd        domain.EndRelationship
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "active", state: []domain.Event{establishedRel()}, cmd: end, want: []domain.Event{endedRel}},
		{name: "already ended", state: []domain.Event{establishedRel(), endedRel}, cmd: end, wantCode: domain.ECONFLICT},
		{name: "does not exist", cmd: end, wantCode: domain.ENOTFOUND},
		{name: "reason required", state: []domain.Event{establishedRel()},
			cmd:      domain.EndRelationship{Meta: domain.Meta{Actor: "a"}, RelationshipID: idRel},
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MustFoldRelationship(t, tt.state...).End(tt.cmd, now)
			checkDecision(t, got, err, tt.want, tt.wantCode, tt.wantFields)
		})
	}
}

func TestFoldRelationship(t *testing.T) {
	r := MustFoldRelationship(t, establishedRel(),
		domain.RelationshipRevised{RelationshipID: idRel, Changes: domain.Changes{
			"kind": {From: "supplies", To: "other"}, "label": {From: "hosts customer data", To: "hosts backups"},
			"description": {From: "EU region.", To: ""}}},
		endedRel)
	want := &domain.Relationship{ID: idRel, Version: 3, From: idA, To: idP, Kind: "other",
		Label: "hosts backups", Description: "", Status: domain.StatusEnded}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("fold mismatch (-want +got):\n%s", diff)
	}
	if got := idRel.Stream(); got != "relationship-"+string(idRel) {
		t.Errorf("Stream() = %q", got)
	}
}
