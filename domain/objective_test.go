package domain_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

// reqDirectory implements [domain.RequirementDirectory] with a map.
type reqDirectory map[domain.RequirementID]string

func (d reqDirectory) RequirementStatus(id domain.RequirementID) string { return d[id] }

// testRequirements: R1 and R3 active, R2 retired.
var testRequirements = reqDirectory{idR1: domain.StatusActive, idR2: domain.StatusRetired, idR3: domain.StatusActive}

// MustFoldObjective folds events into an objective after a round trip
// through JSON.
func MustFoldObjective(tb testing.TB, events ...domain.Event) *domain.Objective {
	tb.Helper()
	o := &domain.Objective{}
	for _, e := range MustRoundTrip(tb, events...) {
		o.Apply(e)
	}
	return o
}

func objectiveSet() domain.ObjectiveSet {
	return domain.ObjectiveSet{ObjectiveID: idObj, Title: "Keep the platform available",
		Description: "As the SLA promises.", Owner: "Head of SRE", Due: "2025-12-31", Status: "in_progress",
		RequirementIDs: []domain.RequirementID{idR1}}
}

func availabilityDefined() domain.KPIDefined {
	return domain.KPIDefined{ObjectiveID: idObj, KPIID: idKPI, Name: "Monthly availability", Unit: "%",
		Operator: ">=", Target: 99.5, Frequency: "monthly"}
}

func incidentsDefined() domain.KPIDefined {
	return domain.KPIDefined{ObjectiveID: idObj, KPIID: idKPI2, Name: "Confidentiality incidents",
		Unit: "incidents", Operator: "=", Target: 0, Frequency: "quarterly"}
}

func measured(id domain.MeasurementID, kpi domain.KPIID, value float64, at string, corrects *domain.MeasurementID) domain.KPIMeasured {
	return domain.KPIMeasured{ObjectiveID: idObj, KPIID: kpi, MeasurementID: id, Value: value,
		MeasuredAt: at, Corrects: corrects}
}

// withKPIs is the objective with two KPIs and a measurement of each.
func withKPIs() []domain.Event {
	return []domain.Event{objectiveSet(), availabilityDefined(), incidentsDefined(),
		measured(idM1, idKPI, 99.7, "2025-04-30T00:00:00Z", nil),
		measured(idM3, idKPI2, 0, "2025-03-31T00:00:00Z", nil)}
}

func TestObjectiveSet(t *testing.T) {
	valid := func(edit func(*domain.SetObjective)) domain.SetObjective {
		c := domain.SetObjective{Meta: meta, ObjectiveID: idObj2, Title: " Zero confidentiality incidents ",
			Owner: " DPO ", Due: "2025-12-31"}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	event := func(edit func(*domain.ObjectiveSet)) []domain.Event {
		e := domain.ObjectiveSet{ObjectiveID: idObj2, Title: "Zero confidentiality incidents", Owner: "DPO",
			Due: "2025-12-31", Status: "planned", RequirementIDs: []domain.RequirementID{}}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	many := make([]domain.RequirementID, domain.MaxLinkedRequirements+1)
	for i := range many {
		many[i] = idR1
	}
	tests := []struct {
		name       string
		history    []domain.Event
		dir        domain.RequirementDirectory
		cmd        domain.SetObjective
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "minimal, planned by default", dir: testRequirements, cmd: valid(nil), want: event(nil)},
		{name: "every field", dir: testRequirements,
			cmd: valid(func(c *domain.SetObjective) {
				c.Description, c.Status = "No incident reaches a customer.\nMeasured quarterly.", "in_progress"
				c.RequirementIDs = []domain.RequirementID{idR3, idR1}
			}),
			want: event(func(e *domain.ObjectiveSet) {
				e.Description, e.Status = "No incident reaches a customer.\nMeasured quarterly.", "in_progress"
				e.RequirementIDs = []domain.RequirementID{idR3, idR1}
			})},
		{name: "without a directory any requirement id is taken",
			cmd:  valid(func(c *domain.SetObjective) { c.RequirementIDs = []domain.RequirementID{idRX} }),
			want: event(func(e *domain.ObjectiveSet) { e.RequirementIDs = []domain.RequirementID{idRX} })},

		{name: "objective exists", history: []domain.Event{objectiveSet()}, dir: testRequirements,
			cmd: valid(nil), wantCode: domain.ECONFLICT},
		{name: "unknown requirement", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.RequirementIDs = []domain.RequirementID{idR1, idRX} }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "retired requirement", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.RequirementIDs = []domain.RequirementID{idR2} }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "requirement listed twice", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.RequirementIDs = []domain.RequirementID{idR1, idR1} }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "requirement id not a UUID", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.RequirementIDs = []domain.RequirementID{"R-1"} }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "too many requirements", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.RequirementIDs = many }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "title, owner and due missing", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.Title, c.Owner, c.Due = " ", "", "" }),
			wantCode: domain.EINVALID, wantFields: []string{"title", "owner", "due"}},
		{name: "title on two lines", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.Title = "a\nb" }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "due not a date", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.Due = "2025-02-30" }),
			wantCode: domain.EINVALID, wantFields: []string{"due"}},
		{name: "status unknown", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.Status = "done" }),
			wantCode: domain.EINVALID, wantFields: []string{"status"}},
		{name: "id not a UUID", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.ObjectiveID = "O-1" }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
		{name: "actor missing and trigger unknown", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.Actor, c.Trigger = "", "whim" }),
			wantCode: domain.EINVALID, wantFields: []string{"actor", "trigger"}},
		{name: "description too long", dir: testRequirements,
			cmd:      valid(func(c *domain.SetObjective) { c.Description = strings.Repeat("d", domain.MaxTextLen+1) }),
			wantCode: domain.EINVALID, wantFields: []string{"description"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := MustFoldObjective(t, tc.history...)
			got, err := o.Set(tc.cmd, tc.dir, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestObjectiveRevise(t *testing.T) {
	cmd := func(edit func(*domain.ReviseObjective)) domain.ReviseObjective {
		c := domain.ReviseObjective{Meta: meta, ObjectiveID: idObj}
		edit(&c)
		return c
	}
	revised := func(ch domain.Changes) []domain.Event {
		return []domain.Event{domain.ObjectiveRevised{ObjectiveID: idObj, Changes: ch}}
	}
	linkedToRetired := func() []domain.Event {
		e := objectiveSet()
		e.RequirementIDs = []domain.RequirementID{idR1, idR2} // R2 was retired after it was linked
		return []domain.Event{e}
	}
	ids := func(ids ...domain.RequirementID) *[]domain.RequirementID { return &ids }
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.ReviseObjective
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "status at risk", history: withKPIs(),
			cmd:  cmd(func(c *domain.ReviseObjective) { c.Status = ptr("at_risk") }),
			want: revised(domain.Changes{"status": {From: "in_progress", To: "at_risk"}})},
		{name: "re-targeted: new due date and owner", history: withKPIs(),
			cmd:  cmd(func(c *domain.ReviseObjective) { c.Due, c.Owner = ptr("2026-03-31"), ptr(" CTO ") }),
			want: revised(domain.Changes{"due": {From: "2025-12-31", To: "2026-03-31"}, "owner": {From: "Head of SRE", To: "CTO"}})},
		{name: "title and description", history: withKPIs(),
			cmd: cmd(func(c *domain.ReviseObjective) {
				c.Title, c.Description = ptr(" Keep the platform highly available"), ptr("")
			}),
			want: revised(domain.Changes{"title": {From: "Keep the platform available", To: "Keep the platform highly available"},
				"description": {From: "As the SLA promises.", To: ""}})},
		{name: "link another requirement", history: withKPIs(),
			cmd: cmd(func(c *domain.ReviseObjective) { c.RequirementIDs = ids(idR1, idR3) }),
			want: revised(domain.Changes{"requirement_ids": {From: []string{string(idR1)},
				To: []string{string(idR1), string(idR3)}}})},
		{name: "unlink every requirement", history: withKPIs(),
			cmd:  cmd(func(c *domain.ReviseObjective) { c.RequirementIDs = ids() }),
			want: revised(domain.Changes{"requirement_ids": {From: []string{string(idR1)}, To: []string{}}})},
		{name: "a retired requirement linked before stays linked", history: linkedToRetired(),
			cmd: cmd(func(c *domain.ReviseObjective) { c.RequirementIDs = ids(idR2) }),
			want: revised(domain.Changes{"requirement_ids": {From: []string{string(idR1), string(idR2)},
				To: []string{string(idR2)}}})},
		{name: "same values change nothing", history: withKPIs(),
			cmd: cmd(func(c *domain.ReviseObjective) {
				c.Title, c.Owner, c.Status, c.RequirementIDs = ptr("Keep the platform available "), ptr("Head of SRE"), ptr("in_progress"), ids(idR1)
			}),
			want: nil},

		{name: "unknown objective", cmd: cmd(func(c *domain.ReviseObjective) { c.Status = ptr("achieved") }),
			wantCode: domain.ENOTFOUND},
		{name: "link a retired requirement", history: withKPIs(),
			cmd:      cmd(func(c *domain.ReviseObjective) { c.RequirementIDs = ids(idR1, idR2) }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "link an unknown requirement", history: withKPIs(),
			cmd:      cmd(func(c *domain.ReviseObjective) { c.RequirementIDs = ids(idRX) }),
			wantCode: domain.EINVALID, wantFields: []string{"requirement_ids"}},
		{name: "status unknown and due empty", history: withKPIs(),
			cmd:      cmd(func(c *domain.ReviseObjective) { c.Status, c.Due = ptr("late"), ptr("") }),
			wantCode: domain.EINVALID, wantFields: []string{"status", "due"}},
		{name: "title and owner empty", history: withKPIs(),
			cmd:      cmd(func(c *domain.ReviseObjective) { c.Title, c.Owner = ptr(""), ptr(" ") }),
			wantCode: domain.EINVALID, wantFields: []string{"title", "owner"}},
		{name: "reason missing", history: withKPIs(),
			cmd: cmd(func(c *domain.ReviseObjective) {
				c.Reason = ""
				c.Status = ptr("achieved")
			}),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := MustFoldObjective(t, tc.history...)
			got, err := o.Revise(tc.cmd, testRequirements, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestObjectiveDefineKPI(t *testing.T) {
	valid := func(edit func(*domain.DefineKPI)) domain.DefineKPI {
		c := domain.DefineKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPIN, Name: " Backup success ",
			Unit: " % ", Operator: ">=", Target: 85, Frequency: "weekly"}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	event := func(edit func(*domain.KPIDefined)) []domain.Event {
		e := domain.KPIDefined{ObjectiveID: idObj, KPIID: idKPIN, Name: "Backup success", Unit: "%",
			Operator: ">=", Target: 85, Frequency: "weekly"}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.DefineKPI
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "valid", history: withKPIs(), cmd: valid(nil), want: event(nil)},
		{name: "first KPI, no unit, every operator", history: []domain.Event{objectiveSet()},
			cmd:  valid(func(c *domain.DefineKPI) { c.Unit, c.Operator, c.Target = "", "<", -1.25 }),
			want: event(func(e *domain.KPIDefined) { e.Unit, e.Operator, e.Target = "", "<", -1.25 })},

		{name: "unknown objective", cmd: valid(nil), wantCode: domain.ENOTFOUND},
		{name: "name taken by another KPI", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Name = "monthly AVAILABILITY" }),
			wantCode: domain.ECONFLICT, wantFields: []string{"name"}},
		{name: "KPI id taken", history: withKPIs(),
			cmd: valid(func(c *domain.DefineKPI) { c.KPIID = idKPI }), wantCode: domain.ECONFLICT},
		{name: "operator and frequency unknown", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Operator, c.Frequency = "=>", "hourly" }),
			wantCode: domain.EINVALID, wantFields: []string{"operator", "frequency"}},
		{name: "operator and frequency missing", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Operator, c.Frequency = "", "" }),
			wantCode: domain.EINVALID, wantFields: []string{"operator", "frequency"}},
		{name: "target not a number", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Target = math.NaN() }),
			wantCode: domain.EINVALID, wantFields: []string{"target"}},
		{name: "target infinite", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Target = math.Inf(1) }),
			wantCode: domain.EINVALID, wantFields: []string{"target"}},
		{name: "name missing, unit too long", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Name, c.Unit = "", strings.Repeat("u", domain.MaxUnitLen+1) }),
			wantCode: domain.EINVALID, wantFields: []string{"name", "unit"}},
		{name: "unit on two lines", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.Unit = "%\n" + "x" }),
			wantCode: domain.EINVALID, wantFields: []string{"unit"}},
		{name: "id not a UUID", history: withKPIs(),
			cmd:      valid(func(c *domain.DefineKPI) { c.KPIID = "kpi-1" }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := MustFoldObjective(t, tc.history...)
			got, err := o.DefineKPI(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestObjectiveReviseKPI(t *testing.T) {
	cmd := func(id domain.KPIID, edit func(*domain.ReviseKPI)) domain.ReviseKPI {
		c := domain.ReviseKPI{Meta: meta, ObjectiveID: idObj, KPIID: id}
		edit(&c)
		return c
	}
	revised := func(ch domain.Changes) []domain.Event {
		return []domain.Event{domain.KPIRevised{ObjectiveID: idObj, KPIID: idKPI, Changes: ch}}
	}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.ReviseKPI
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "raise the target", history: withKPIs(),
			cmd:  cmd(idKPI, func(c *domain.ReviseKPI) { c.Target = ptr(99.9) }),
			want: revised(domain.Changes{"target": {From: 99.5, To: 99.9}})},
		{name: "every field", history: withKPIs(),
			cmd: cmd(idKPI, func(c *domain.ReviseKPI) {
				c.Name, c.Unit, c.Operator, c.Frequency = ptr(" Availability "), ptr(""), ptr(">"), ptr("quarterly")
			}),
			want: revised(domain.Changes{"name": {From: "Monthly availability", To: "Availability"},
				"unit": {From: "%", To: ""}, "operator": {From: ">=", To: ">"}, "frequency": {From: "monthly", To: "quarterly"}})},
		{name: "same values change nothing", history: withKPIs(),
			cmd: cmd(idKPI, func(c *domain.ReviseKPI) {
				c.Name, c.Target, c.Operator = ptr("Monthly availability"), ptr(99.5), ptr(">=")
			}),
			want: nil},

		{name: "unknown KPI", history: withKPIs(),
			cmd: cmd(idKPIN, func(c *domain.ReviseKPI) { c.Target = ptr(1.0) }), wantCode: domain.ENOTFOUND},
		{name: "unknown objective",
			cmd: cmd(idKPI, func(c *domain.ReviseKPI) { c.Target = ptr(1.0) }), wantCode: domain.ENOTFOUND},
		{name: "name of the other KPI", history: withKPIs(),
			cmd:      cmd(idKPI, func(c *domain.ReviseKPI) { c.Name = ptr("Confidentiality Incidents") }),
			wantCode: domain.ECONFLICT, wantFields: []string{"name"}},
		{name: "target not finite, operator unknown", history: withKPIs(),
			cmd: cmd(idKPI, func(c *domain.ReviseKPI) {
				c.Target, c.Operator = ptr(math.Inf(-1)), ptr("~")
			}),
			wantCode: domain.EINVALID, wantFields: []string{"target", "operator"}},
		{name: "reason missing", history: withKPIs(),
			cmd: cmd(idKPI, func(c *domain.ReviseKPI) {
				c.Reason = ""
				c.Target = ptr(99.9)
			}),
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := MustFoldObjective(t, tc.history...)
			got, err := o.ReviseKPI(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestObjectiveMeasure(t *testing.T) {
	valid := func(edit func(*domain.MeasureKPI)) domain.MeasureKPI {
		c := domain.MeasureKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPI, MeasurementID: idMN,
			Value: 99.41, MeasuredAt: "2025-05-31"}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	event := func(edit func(*domain.KPIMeasured)) []domain.Event {
		e := measured(idMN, idKPI, 99.41, "2025-05-31T00:00:00Z", nil)
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.MeasureKPI
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "a date is midnight UTC", history: withKPIs(), cmd: valid(nil), want: event(nil)},
		{name: "a time with an offset is stored in UTC, whole seconds", history: withKPIs(),
			cmd:  valid(func(c *domain.MeasureKPI) { c.MeasuredAt = "2025-06-01T09:30:15.75+02:00" }),
			want: event(func(e *domain.KPIMeasured) { e.MeasuredAt = "2025-06-01T07:30:15Z" })},
		{name: "tomorrow somewhere on earth", history: withKPIs(),
			cmd:  valid(func(c *domain.MeasureKPI) { c.MeasuredAt = "2025-06-02T11:00:00Z" }),
			want: event(func(e *domain.KPIMeasured) { e.MeasuredAt = "2025-06-02T11:00:00Z" })},
		{name: "a correction keeps the corrected time", history: withKPIs(),
			cmd: valid(func(c *domain.MeasureKPI) { c.MeasuredAt, c.Corrects = "", ptr(idM1) }),
			want: event(func(e *domain.KPIMeasured) {
				e.MeasuredAt, e.Corrects = "2025-04-30T00:00:00Z", ptr(idM1)
			})},
		{name: "a correction with its own time", history: withKPIs(),
			cmd:  valid(func(c *domain.MeasureKPI) { c.Corrects = ptr(idM1) }),
			want: event(func(e *domain.KPIMeasured) { e.Corrects = ptr(idM1) })},
		{name: "a correction of a correction",
			history: appendEvents(withKPIs(), measured(idM2, idKPI, 99.6, "2025-04-30T00:00:00Z", ptr(idM1))),
			cmd:     valid(func(c *domain.MeasureKPI) { c.MeasuredAt, c.Corrects = "", ptr(idM2) }),
			want: event(func(e *domain.KPIMeasured) {
				e.MeasuredAt, e.Corrects = "2025-04-30T00:00:00Z", ptr(idM2)
			})},
		{name: "zero of the other KPI", history: withKPIs(),
			cmd:  valid(func(c *domain.MeasureKPI) { c.KPIID, c.Value = idKPI2, 0 }),
			want: event(func(e *domain.KPIMeasured) { e.KPIID, e.Value = idKPI2, 0 })},

		{name: "unknown objective", cmd: valid(nil), wantCode: domain.ENOTFOUND},
		{name: "unknown KPI", history: withKPIs(),
			cmd: valid(func(c *domain.MeasureKPI) { c.KPIID = idKPIN }), wantCode: domain.ENOTFOUND},
		{name: "measurement id taken", history: withKPIs(),
			cmd: valid(func(c *domain.MeasureKPI) { c.MeasurementID = idM1 }), wantCode: domain.ECONFLICT},
		{name: "corrects an unknown measurement", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.Corrects = ptr(idMN) }),
			wantCode: domain.EINVALID, wantFields: []string{"corrects"}},
		{name: "corrects a measurement of another KPI", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.Corrects = ptr(idM3) }),
			wantCode: domain.EINVALID, wantFields: []string{"corrects"}},
		{name: "corrects something that is not an id", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.Corrects = ptr(domain.MeasurementID("first")) }),
			wantCode: domain.EINVALID, wantFields: []string{"corrects"}},
		{name: "time missing", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.MeasuredAt = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"measured_at"}},
		{name: "time in the future", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.MeasuredAt = "2025-06-03" }),
			wantCode: domain.EINVALID, wantFields: []string{"measured_at"}},
		{name: "time malformed", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.MeasuredAt = "31/05/2025" }),
			wantCode: domain.EINVALID, wantFields: []string{"measured_at"}},
		{name: "value not finite", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.Value = math.NaN() }),
			wantCode: domain.EINVALID, wantFields: []string{"value"}},
		{name: "id not a UUID, actor missing", history: withKPIs(),
			cmd:      valid(func(c *domain.MeasureKPI) { c.MeasurementID, c.Actor = "m1", "" }),
			wantCode: domain.EINVALID, wantFields: []string{"id", "actor"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := MustFoldObjective(t, tc.history...)
			got, err := o.Measure(tc.cmd, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

// TestFoldObjective runs an objective's life through the decisions and
// checks the folded state, through JSON and in memory.
func TestFoldObjective(t *testing.T) {
	var log []domain.Event
	decide := func(f func(o *domain.Objective) ([]domain.Event, error)) {
		t.Helper()
		evs, err := f(MustFoldObjective(t, log...))
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			t.Fatal("decision returned no events")
		}
		log = append(log, evs...)
	}
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.Set(domain.SetObjective{Meta: meta, ObjectiveID: idObj, Title: "Keep the platform available",
			Owner: "Head of SRE", Due: "2025-12-31", RequirementIDs: []domain.RequirementID{idR1}}, testRequirements, now)
	})
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.DefineKPI(domain.DefineKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPI, Name: "Availability",
			Unit: "%", Operator: ">=", Target: 99.5, Frequency: "monthly"}, now)
	})
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.Measure(domain.MeasureKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPI, MeasurementID: idM1,
			Value: 99.2, MeasuredAt: "2025-04-30"}, now)
	})
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.Measure(domain.MeasureKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPI, MeasurementID: idM2,
			Value: 99.6, Corrects: ptr(idM1)}, now)
	})
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.Measure(domain.MeasureKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPI, MeasurementID: idMN,
			Value: 99.61, Corrects: ptr(idM2)}, now)
	})
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.ReviseKPI(domain.ReviseKPI{Meta: meta, ObjectiveID: idObj, KPIID: idKPI, Target: ptr(99.9)}, now)
	})
	decide(func(o *domain.Objective) ([]domain.Event, error) {
		return o.Revise(domain.ReviseObjective{Meta: meta, ObjectiveID: idObj, Status: ptr("at_risk"),
			Due: ptr("2026-03-31"), RequirementIDs: &[]domain.RequirementID{idR3, idR1}}, testRequirements, now)
	})

	want := &domain.Objective{ID: idObj, Version: 7, Title: "Keep the platform available", Owner: "Head of SRE",
		Due: "2026-03-31", Status: "at_risk", RequirementIDs: []domain.RequirementID{idR3, idR1},
		KPIs: map[domain.KPIID]*domain.KPI{idKPI: {ID: idKPI, Name: "Availability", Unit: "%", Operator: ">=",
			Target: 99.9, Frequency: "monthly"}},
		KPIOrder: []domain.KPIID{idKPI},
		Measurements: map[domain.MeasurementID]domain.MeasurementInfo{
			idM1: {KPIID: idKPI, MeasuredAt: "2025-04-30T00:00:00Z", Slot: idM1},
			idM2: {KPIID: idKPI, MeasuredAt: "2025-04-30T00:00:00Z", Slot: idM1},
			idMN: {KPIID: idKPI, MeasuredAt: "2025-04-30T00:00:00Z", Slot: idM1},
		},
	}
	if diff := cmp.Diff(want, MustFoldObjective(t, log...)); diff != "" {
		t.Errorf("fold through JSON mismatch (-want +got):\n%s", diff)
	}
	mem := &domain.Objective{}
	for _, e := range log {
		mem.Apply(e)
	}
	if diff := cmp.Diff(want, mem); diff != "" {
		t.Errorf("fold in memory mismatch (-want +got):\n%s", diff)
	}
}

func TestMeets(t *testing.T) {
	tests := []struct {
		value    float64
		op       string
		target   float64
		want     bool
		scenario string
	}{
		{99.5, ">=", 99.5, true, "at the target"},
		{99.49, ">=", 99.5, false, "just below"},
		{85, ">", 85, false, "strictly above, equal"},
		{85.1, ">", 85, true, "strictly above"},
		{0, "=", 0, true, "zero incidents"},
		{1, "=", 0, false, "one incident"},
		{2, "<=", 2, true, "at most, equal"},
		{3, "<", 3, false, "below, equal"},
		{-1, "<", 0, true, "below"},
		{1, "~", 1, false, "unknown operator"},
	}
	for _, tc := range tests {
		if got := domain.Meets(tc.value, tc.op, tc.target); got != tc.want {
			t.Errorf("%s: Meets(%v %s %v) = %v, want %v", tc.scenario, tc.value, tc.op, tc.target, got, tc.want)
		}
	}
}

func TestNextDue(t *testing.T) {
	tests := []struct {
		from, freq, want string
		ok               bool
	}{
		{"2026-01-31", "daily", "2026-02-01", true},
		{"2026-01-31", "weekly", "2026-02-07", true},
		{"2026-01-15", "monthly", "2026-02-15", true},
		{"2026-01-31", "monthly", "2026-03-03", true},   // calendar normalisation
		{"2026-11-30", "quarterly", "2027-03-02", true}, // 30 February is 2 March
		{"2026-01-01", "semiannually", "2026-07-01", true},
		{"2024-02-29", "annually", "2025-03-01", true},
		{"2026-01-01", "within 72 hours of a breach", "", false},
		{"01/01/2026", "monthly", "", false},
	}
	for _, tc := range tests {
		got, ok := domain.NextDue(tc.from, tc.freq)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NextDue(%s, %s) = %q, %v; want %q, %v", tc.from, tc.freq, got, ok, tc.want, tc.ok)
		}
	}
}
