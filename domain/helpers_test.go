package domain_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

// now is the decision time of every test: decisions never read the clock.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// Party ids. Names are what the register read model (mapDirectory) knows.
const (
	idA   domain.PartyID = "01975f2a-0000-7000-8000-00000000000a" // "Acme Bank", the party under test
	idP   domain.PartyID = "01975f2a-0000-7000-8000-00000000000b" // "Customers", an active parent
	idR   domain.PartyID = "01975f2a-0000-7000-8000-00000000000c" // "Former customers", retired
	idC   domain.PartyID = "01975f2a-0000-7000-8000-00000000000d" // "Acme Retail", child of A
	idG   domain.PartyID = "01975f2a-0000-7000-8000-00000000000e" // "Acme Retail Online", child of C
	idOld domain.PartyID = "01975f2a-0000-7000-8000-00000000000f" // "Legacy Bank", retired
	idN   domain.PartyID = "01975f2a-0000-7000-8000-000000000010" // a new party
	idGap domain.PartyID = "01975f2a-0000-7000-8000-000000000011" // no such party

	idR1 domain.RequirementID = "01975f2b-0000-7000-8000-000000000001" // active
	idR2 domain.RequirementID = "01975f2b-0000-7000-8000-000000000002" // retired
	idR3 domain.RequirementID = "01975f2b-0000-7000-8000-000000000003" // active
	idRN domain.RequirementID = "01975f2b-0000-7000-8000-000000000010" // new
	idRX domain.RequirementID = "01975f2b-0000-7000-8000-000000000011" // no such requirement

	idMR  domain.ReviewID = "01975f2c-0000-7000-8000-000000000001"
	idAct domain.ActionID = "01975f2c-0000-7000-8000-0000000000a1"
)

// dirParty is one party as the register read model knows it.
type dirParty struct {
	name, status string
	parent       domain.PartyID
}

// mapDirectory implements [domain.Directory] with a map, the way the register
// read model does: names compare trimmed and case-insensitively.
type mapDirectory map[domain.PartyID]dirParty

func (d mapDirectory) ActivePartyByName(name string) (domain.PartyID, bool) {
	for id, p := range d {
		if p.status == domain.StatusActive && domain.NormalizeName(p.name) == domain.NormalizeName(name) {
			return id, true
		}
	}
	return "", false
}

func (d mapDirectory) PartyStatus(id domain.PartyID) string { return d[id].status }

func (d mapDirectory) ParentOf(id domain.PartyID) (domain.PartyID, bool) {
	p := d[id].parent
	return p, p != ""
}

// testDirectory is the register every party test runs against.
func testDirectory() mapDirectory {
	return mapDirectory{
		idA:   {name: "Acme Bank", status: domain.StatusActive},
		idP:   {name: "Customers", status: domain.StatusActive},
		idR:   {name: "Former customers", status: domain.StatusRetired},
		idC:   {name: "Acme Retail", status: domain.StatusActive, parent: idA},
		idG:   {name: "Acme Retail Online", status: domain.StatusActive, parent: idC},
		idOld: {name: "Legacy Bank", status: domain.StatusRetired},
	}
}

var meta = domain.Meta{Actor: "alice@example.com", Reason: "annual review of interested parties",
	Trigger: "periodic_review", CorrelationID: "corr-1"}

func ptr[T any](v T) *T { return &v }

// MustRoundTrip encodes events with encoding/json and decodes them with
// [domain.Decode], exactly as they travel through the event store.
func MustRoundTrip(tb testing.TB, events ...domain.Event) []domain.Event {
	tb.Helper()
	out := make([]domain.Event, 0, len(events))
	for _, e := range events {
		data, err := json.Marshal(e)
		if err != nil {
			tb.Fatalf("encode %s: %v", e.EventType(), err)
		}
		d, err := domain.Decode(e.EventType(), domain.CurrentSchema, data)
		if err != nil {
			tb.Fatalf("decode %s: %v", e.EventType(), err)
		}
		out = append(out, d)
	}
	return out
}

// MustFold folds events into a party after a round trip through JSON.
func MustFold(tb testing.TB, events ...domain.Event) *domain.Party {
	tb.Helper()
	return domain.FoldParty(MustRoundTrip(tb, events...))
}

// MustFoldReview folds events into a management review after a round trip
// through JSON.
func MustFoldReview(tb testing.TB, events ...domain.Event) *domain.ManagementReview {
	tb.Helper()
	r := &domain.ManagementReview{}
	for _, e := range MustRoundTrip(tb, events...) {
		r.Apply(e)
	}
	return r
}

// errFields returns the sorted field names of err's *domain.Error.
func errFields(err error) []string {
	var e *domain.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return nil
	}
	var fs []string
	for _, f := range e.Fields {
		fs = append(fs, f.Field)
	}
	slices.Sort(fs)
	return fs
}

// checkDecision compares a decision's outcome with the wanted events, or with
// the wanted error code and offending fields (in any order).
func checkDecision(tb testing.TB, got []domain.Event, err error, want []domain.Event, wantCode string, wantFields []string) {
	tb.Helper()
	if code := domain.ErrorCode(err); code != wantCode {
		tb.Fatalf("error code = %q, want %q (err: %v)", code, wantCode, err)
	}
	if err != nil {
		wantFields = slices.Sorted(slices.Values(wantFields))
		if diff := cmp.Diff(wantFields, errFields(err)); diff != "" {
			tb.Errorf("error fields mismatch (-want +got):\n%s\nerr: %v", diff, err)
		}
		if got != nil {
			tb.Errorf("got events %v along with error %v", got, err)
		}
		return
	}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("events mismatch (-want +got):\n%s", diff)
	}
}
