package importer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/domain"
)

// MustImport plans a file against reg and applies the plan.
func MustImport(tb testing.TB, reg *memRegister, name string) *Plan {
	tb.Helper()
	p := MustPlan(tb, reg, MustRead(tb, name, Input{Filename: name}), testOptions())
	reg.apply(tb, p)
	return p
}

func TestPlanConsultantThenReimport(t *testing.T) {
	reg := newRegister()
	p := MustImport(t, reg, "consultant.xlsx")
	if got, want := p.Parties, (Counts{Added: 5}); got != want {
		t.Errorf("parties %+v, want %+v", got, want)
	}
	if got, want := p.Requirements, (Counts{Added: 8}); got != want {
		t.Errorf("requirements %+v, want %+v", got, want)
	}
	if got := p.Events(); got != 13 {
		t.Errorf("%d events, want 13", got)
	}
	if len(p.Warnings) != 2 {
		t.Errorf("warnings %+v, want the Ref column and the missing source type", p.Warnings)
	}
	// What the register now says, through the real domain fold.
	dpa := reg.parties[reg.byName[domain.NormalizeName("Data protection authority")]]
	if dpa.Category != "regulator" || dpa.Influence != 5 || dpa.Interest != 3 || len(dpa.Order) != 2 {
		t.Errorf("data protection authority = %+v", dpa)
	}
	ropa := dpa.Requirements[dpa.Order[1]]
	if ropa.Addressed == nil || *ropa.Addressed || ropa.SourceType != "other" || *ropa.ReviewDue != "2026-09-30" {
		t.Errorf("records of processing = %+v", ropa)
	}
	// The commands carry the audit fields.
	cmd := p.Steps[0].Command.(domain.IdentifyParty)
	if cmd.Actor != "token:importer-test" || cmd.Reason != "import of consultant.xlsx" || cmd.TriggerOrDefault() != "other" {
		t.Errorf("meta %+v", cmd.Meta)
	}

	again := MustPlan(t, reg, MustRead(t, "consultant.xlsx", Input{}), testOptions())
	if again.Events() != 0 || len(again.Items) != 0 || len(again.Steps) != 0 {
		t.Errorf("re-import plans %d events, items %+v", again.Events(), again.Items)
	}
	if again.Parties != (Counts{Unchanged: 5}) || again.Requirements != (Counts{Unchanged: 8}) {
		t.Errorf("re-import counts parties %+v requirements %+v", again.Parties, again.Requirements)
	}
}

// editedConsultant is the consultant workbook with one cell changed.
func editedConsultant(tb testing.TB, cell string, value any) []byte {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "consultant.xlsx"))
	if err != nil {
		tb.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := f.SetCellValue("Register", cell, value); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestPlanOneChangedCell(t *testing.T) {
	reg := newRegister()
	MustImport(t, reg, "consultant.xlsx")
	for _, tc := range []struct {
		cell   string
		value  any
		want   Item
		counts [2]Counts // parties, requirements
	}{
		{"M8", "High", Item{Row: 8, Action: ActionReviseRequirement, Party: "Customers",
			Requirement: "Timely notification of security incidents",
			Changes:     domain.Changes{"priority": {From: "medium", To: "high"}}},
			[2]Counts{{Unchanged: 5}, {Revised: 1, Unchanged: 7}}},
		// The party's influence is a cell merged over rows 6 to 8.
		{"E6", "Medium", Item{Row: 6, Action: ActionReviseParty, Party: "Customers",
			Changes: domain.Changes{"influence": {From: 5, To: 3}}},
			[2]Counts{{Revised: 1, Unchanged: 4}, {Unchanged: 8}}},
		{"J10", "Yes", Item{Row: 10, Action: ActionDecideAddressing, Party: "Data protection authority",
			Requirement: "Records of processing activities",
			Changes:     domain.Changes{"addressed": {From: false, To: true}}},
			[2]Counts{{Unchanged: 5}, {Revised: 1, Unchanged: 7}}},
		{"N12", day("2027-03-31"), Item{Row: 12, Action: ActionReviseRequirement, Party: "Employees",
			Requirement: "Clear security policies and training",
			Changes:     domain.Changes{"review_due": {From: "2026-12-31", To: "2027-03-31"}}},
			[2]Counts{{Unchanged: 5}, {Revised: 1, Unchanged: 7}}},
	} {
		t.Run(tc.cell, func(t *testing.T) {
			tb := MustReadBytes(t, editedConsultant(t, tc.cell, tc.value), Input{Filename: "consultant.xlsx"})
			p := MustPlan(t, reg, tb, testOptions())
			if len(p.Errors) != 0 {
				t.Fatalf("errors %+v", p.Errors)
			}
			if p.Events() != 1 {
				t.Errorf("%d events, want exactly 1", p.Events())
			}
			if d := cmp.Diff([]Item{tc.want}, p.Items); d != "" {
				t.Errorf("items (-want +got):\n%s", d)
			}
			if got := [2]Counts{p.Parties, p.Requirements}; got != tc.counts {
				t.Errorf("counts %+v, want %+v", got, tc.counts)
			}
		})
	}
}

func TestPlanErrorsFile(t *testing.T) {
	reg := newRegister()
	p := MustPlan(t, reg, MustRead(t, "errors.xlsx", Input{}), testOptions())
	type loc struct{ Cell, Field, Value, Start string }
	var got []loc
	for _, e := range p.Errors {
		if e.Sheet != "Parties" {
			t.Errorf("error %+v is not on sheet Parties", e)
		}
		got = append(got, loc{e.Cell, e.Field, e.Value, strings.SplitN(e.Message, " ", 3)[0]})
	}
	want := []loc{
		{"D2", "influence", "Very high", `"Very`},
		{"C3", "category", "Extraterrestrials", `"Extraterrestrials"`},
		{"G3", "addressed", "maybe", `"maybe"`},
		{"H3", "review_due", "31/02/2026", `"31/02/2026"`},
		{"B4", "scope", "Sideways", `"Sideways"`},
		{"B5", "scope", "Internal", "says"},
		{"E6", "interest", "7", `"7"`},
		{"B7", "scope", "", "scope"}, // from the domain: a new party needs a scope
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("errors (-want +got):\n%s\n%+v", d, p.Errors)
	}
	if p.Errors[5].Message != `says "internal" but row 2 says "external" for the same party` {
		t.Errorf("conflict message %q", p.Errors[5].Message)
	}
	// A plan with errors is not written: the wiring refuses it (all or nothing).
	if len(reg.parties) != 0 {
		t.Errorf("the register changed")
	}
}

func TestPlanRetireMissing(t *testing.T) {
	reg := newRegister()
	MustImport(t, reg, "consultant.xlsx")
	data := "Interested party,Scope,Requirement\nCustomers,external,Protection of customer data\n"
	tb := MustReadBytes(t, []byte(data), Input{Filename: "customers.csv"})

	p := MustPlan(t, reg, tb, testOptions())
	if p.Events() != 0 || p.Parties.Retired != 0 || p.Requirements.Retired != 0 {
		t.Errorf("without retire_missing: %d events, counts %+v %+v", p.Events(), p.Parties, p.Requirements)
	}

	opts := testOptions()
	opts.RetireMissing = true
	p = MustPlan(t, reg, tb, opts)
	if p.Parties != (Counts{Unchanged: 1, Retired: 4}) || p.Requirements != (Counts{Unchanged: 1, Retired: 2}) {
		t.Errorf("retire_missing counts parties %+v requirements %+v", p.Parties, p.Requirements)
	}
	if it := p.Items[len(p.Items)-1]; it.Action != ActionRetireParty || it.Party != "Shareholders" ||
		!cmp.Equal(it.Changes, domain.Changes{"status": {From: "active", To: "retired"}}) {
		t.Errorf("last item %+v", it)
	}
	reg.apply(t, p)
	active, _ := reg.ActiveParties(t.Context())
	if len(active) != 1 || active[0].Name != "Customers" {
		t.Fatalf("active parties %v", active)
	}
	n := 0
	for _, q := range active[0].Requirements {
		if q.Status == domain.StatusActive {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d active requirements left, want 1", n)
	}

	// A file without rows does not retire the whole register.
	empty := MustReadBytes(t, []byte("Interested party,Scope,Requirement\n"), Input{})
	if p := MustPlan(t, reg, empty, opts); p.Events() != 0 || len(p.Errors) != 1 {
		t.Errorf("empty file with retire_missing: %d events, errors %+v", p.Events(), p.Errors)
	}
}

func TestPlanRowRules(t *testing.T) {
	reg := newRegister()
	data := "Party,Scope,Requirement,Trigger,Identified on\n" +
		"Acme,external,Pay on time,contract change,2026-01-10\n" +
		"ACME,external,pay on time,,\n" +
		"Beta,internal,Keep us informed,,2026-12-01\n"
	p := MustPlan(t, reg, MustReadBytes(t, []byte(data), Input{Filename: "x.csv"}), testOptions())
	var msgs []string
	for _, e := range p.Errors {
		msgs = append(msgs, e.Cell+" "+e.Message)
	}
	want := []string{"C3 this party already has this requirement on row 2", "E4 the effective date is in the future"}
	if d := cmp.Diff(want, msgs); d != "" {
		t.Errorf("errors (-want +got):\n%s", d)
	}
	// Acme and ACME are one party; the row's trigger and effective date go
	// with its command.
	if p.Parties.Added != 2 {
		t.Errorf("parties %+v, want 2 added", p.Parties)
	}
	s := p.Steps[1]
	cmd := s.Command.(domain.IdentifyRequirement)
	if cmd.Trigger != "contract_change" || s.EffectiveOn != "2026-01-10" || s.Row != 2 {
		t.Errorf("step %+v, trigger %q", s, cmd.Trigger)
	}
}

func TestPlanEffectiveOnOption(t *testing.T) {
	data := "Party,Scope,Requirement,Effective\nAcme,external,Pay on time,2026-01-10\nAcme,external,Be polite,\n"
	tb := MustReadBytes(t, []byte(data), Input{})
	opts := testOptions()
	opts.EffectiveOn = "2025-12-01"
	p := MustPlan(t, newRegister(), tb, opts)
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.EffectiveOn)
	}
	// The party's step is its first row's; the form's date fills the gap.
	if d := cmp.Diff([]string{"2026-01-10", "2026-01-10", "2025-12-01"}, got); d != "" {
		t.Errorf("effective dates (-want +got):\n%s", d)
	}
	opts.EffectiveOn = "2027-01-01"
	if p := MustPlan(t, newRegister(), tb, opts); len(p.Errors) != 1 || p.Errors[0].Field != "effective_on" {
		t.Errorf("a future form date: errors %+v", p.Errors)
	}
}
