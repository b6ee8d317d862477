package domain

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ObjectiveID identifies an information security objective (a UUID).
type ObjectiveID string

// KPIID identifies a key performance indicator of an objective (a UUID).
type KPIID string

// MeasurementID identifies one measurement of a KPI (a UUID).
type MeasurementID string

// ObjectiveStreamPrefix starts the stream of every objective: one stream per
// objective, holding its KPIs and their measurements.
const ObjectiveStreamPrefix = "objective-"

// Stream returns the name of the objective's event stream.
func (id ObjectiveID) Stream() string { return ObjectiveStreamPrefix + string(id) }

// ObjectiveStatuses are the states of an objective (clause 6.2).
var ObjectiveStatuses = enum{"planned", "in_progress", "achieved", "at_risk", "abandoned"}

// Objective statuses that other code refers to.
const (
	ObjectiveStatusPlanned   = "planned"
	ObjectiveStatusAbandoned = "abandoned"
)

// Operators compare a KPI's measured value with its target: value op target.
var Operators = enum{">=", ">", "<=", "<", "="}

// Frequencies are the recurring intervals of KPI measurements and of planned
// communications.
var Frequencies = enum{"daily", "weekly", "monthly", "quarterly", "semiannually", "annually"}

// Limits of objectives.
const (
	MaxLinkedRequirements = 100
	MaxKPIs               = 100
	MaxUnitLen            = 20
)

// ObjectiveFields and KPIFields give the display order of fields.
var (
	ObjectiveFields = []string{"title", "description", "owner", "due", "status", "requirement_ids"}
	KPIFields       = []string{"name", "unit", "operator", "target", "frequency"}
)

// Meets reports whether value meets the target under operator (one of
// [Operators]). "=" compares exactly: targets such as "0 incidents" are
// whole numbers. An unknown operator never meets.
func Meets(value float64, operator string, target float64) bool {
	switch operator {
	case ">=":
		return value >= target
	case ">":
		return value > target
	case "<=":
		return value <= target
	case "<":
		return value < target
	case "=":
		return value == target
	}
	return false
}

// NextDue returns the date one frequency after from (YYYY-MM-DD), and false
// for a frequency that is not one of [Frequencies] or a malformed date.
// Months are added on the calendar: 31 January plus a month is 3 March, as
// time.AddDate normalises.
func NextDue(from, frequency string) (string, bool) {
	d, err := time.Parse(DateLayout, from)
	if err != nil {
		return "", false
	}
	switch frequency {
	case "daily":
		d = d.AddDate(0, 0, 1)
	case "weekly":
		d = d.AddDate(0, 0, 7)
	case "monthly":
		d = d.AddDate(0, 1, 0)
	case "quarterly":
		d = d.AddDate(0, 3, 0)
	case "semiannually":
		d = d.AddDate(0, 6, 0)
	case "annually":
		d = d.AddDate(1, 0, 0)
	default:
		return "", false
	}
	return d.Format(DateLayout), true
}

// ObjectiveSet records a new information security objective (clause 6.2):
// what is to be achieved, who is responsible, by when, and which
// requirements of interested parties it addresses.
type ObjectiveSet struct {
	ObjectiveID    ObjectiveID     `json:"objective_id"`
	Title          string          `json:"title"`
	Description    string          `json:"description"`
	Owner          string          `json:"owner"`
	Due            string          `json:"due"`
	Status         string          `json:"status"`
	RequirementIDs []RequirementID `json:"requirement_ids"`
}

// ObjectiveRevised records changed fields of an objective: a new status, a
// new due date or owner (re-targeting), other requirements.
type ObjectiveRevised struct {
	ObjectiveID ObjectiveID `json:"objective_id"`
	Changes     Changes     `json:"changes"`
}

// KPIDefined records a key performance indicator of an objective: the
// objective is met on this KPI while value operator target holds.
type KPIDefined struct {
	ObjectiveID ObjectiveID `json:"objective_id"`
	KPIID       KPIID       `json:"kpi_id"`
	Name        string      `json:"name"`
	Unit        string      `json:"unit"`
	Operator    string      `json:"operator"`
	Target      float64     `json:"target"`
	Frequency   string      `json:"frequency"`
}

// KPIRevised records changed fields of a KPI.
type KPIRevised struct {
	ObjectiveID ObjectiveID `json:"objective_id"`
	KPIID       KPIID       `json:"kpi_id"`
	Changes     Changes     `json:"changes"`
}

// KPIMeasured records one measured value of a KPI. A measurement is never
// edited: a correction is another KPIMeasured whose Corrects names the
// measurement it replaces.
type KPIMeasured struct {
	ObjectiveID   ObjectiveID    `json:"objective_id"`
	KPIID         KPIID          `json:"kpi_id"`
	MeasurementID MeasurementID  `json:"measurement_id"`
	Value         float64        `json:"value"`
	MeasuredAt    string         `json:"measured_at"` // RFC 3339, UTC
	Corrects      *MeasurementID `json:"corrects"`
}

func (ObjectiveSet) EventType() string     { return EventObjectiveSet }
func (ObjectiveRevised) EventType() string { return EventObjectiveRevised }
func (KPIDefined) EventType() string       { return EventKPIDefined }
func (KPIRevised) EventType() string       { return EventKPIRevised }
func (KPIMeasured) EventType() string      { return EventKPIMeasured }

// Objective is the state of one objective, folded from its stream.
type Objective struct {
	ID             ObjectiveID
	Version        int64
	Title          string
	Description    string
	Owner          string
	Due            string
	Status         string
	RequirementIDs []RequirementID
	KPIs           map[KPIID]*KPI
	KPIOrder       []KPIID // KPIs in the order they were defined
	// Measurements maps every measurement of every KPI to what corrections
	// need to know about it.
	Measurements map[MeasurementID]MeasurementInfo
}

// KPI is the state of one KPI of an objective.
type KPI struct {
	ID        KPIID
	Name      string
	Unit      string
	Operator  string
	Target    float64
	Frequency string
}

// MeasurementInfo is what an objective remembers of a measurement.
type MeasurementInfo struct {
	KPIID      KPIID
	MeasuredAt string
	// Slot is the original measurement that this one, through a chain of
	// corrections, replaces; a measurement that corrects nothing is its own
	// slot. The latest recorded measurement of a slot is its value.
	Slot MeasurementID
}

// Exists reports whether the objective has been set.
func (o *Objective) Exists() bool { return o != nil && o.Status != "" }

// Apply folds one event into the objective. Events of other aggregates are
// ignored. Apply never fails: events are facts.
func (o *Objective) Apply(e Event) {
	o.Version++
	switch e := e.(type) {
	case ObjectiveSet:
		o.ID, o.Title, o.Description, o.Owner = e.ObjectiveID, e.Title, e.Description, e.Owner
		o.Due, o.Status, o.RequirementIDs = e.Due, e.Status, slices.Clone(e.RequirementIDs)
	case ObjectiveRevised:
		for f, ch := range e.Changes {
			switch f {
			case "title":
				o.Title = asString(ch.To)
			case "description":
				o.Description = asString(ch.To)
			case "owner":
				o.Owner = asString(ch.To)
			case "due":
				o.Due = asString(ch.To)
			case "status":
				o.Status = asString(ch.To)
			case "requirement_ids":
				ids := []RequirementID{}
				for _, s := range asStrings(ch.To) {
					ids = append(ids, RequirementID(s))
				}
				o.RequirementIDs = ids
			}
		}
	case KPIDefined:
		if o.KPIs == nil {
			o.KPIs = map[KPIID]*KPI{}
		}
		if _, dup := o.KPIs[e.KPIID]; !dup {
			o.KPIOrder = append(o.KPIOrder, e.KPIID)
		}
		o.KPIs[e.KPIID] = &KPI{ID: e.KPIID, Name: e.Name, Unit: e.Unit, Operator: e.Operator,
			Target: e.Target, Frequency: e.Frequency}
	case KPIRevised:
		k := o.KPIs[e.KPIID]
		if k == nil {
			return
		}
		for f, ch := range e.Changes {
			switch f {
			case "name":
				k.Name = asString(ch.To)
			case "unit":
				k.Unit = asString(ch.To)
			case "operator":
				k.Operator = asString(ch.To)
			case "target":
				k.Target = asFloat(ch.To)
			case "frequency":
				k.Frequency = asString(ch.To)
			}
		}
	case KPIMeasured:
		if o.Measurements == nil {
			o.Measurements = map[MeasurementID]MeasurementInfo{}
		}
		slot := e.MeasurementID
		if e.Corrects != nil {
			if c, ok := o.Measurements[*e.Corrects]; ok {
				slot = c.Slot
			}
		}
		o.Measurements[e.MeasurementID] = MeasurementInfo{KPIID: e.KPIID, MeasuredAt: e.MeasuredAt, Slot: slot}
	}
}

// asStrings reads a JSON list of strings ([]any after decoding, or
// []string / []RequirementID when built in memory).
func asStrings(v any) []string {
	switch l := v.(type) {
	case []string:
		return slices.Clone(l)
	case []RequirementID:
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = string(s)
		}
		return out
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// FloatValue reads a JSON number value (float64 after decoding, int when
// built in memory) as stored in a change's from/to; other values read as 0.
func FloatValue(v any) float64 { return asFloat(v) }

// StringsValue reads a JSON list of strings as stored in a change's
// from/to ([]any after decoding, []string when built in memory).
func StringsValue(v any) []string { return asStrings(v) }

// asFloat reads a JSON number value.
func asFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return 0
}

// RequirementDirectory answers what an objective decision needs to know
// about the requirements it links to. The service implements it from the
// register read model; tests implement it with a map.
type RequirementDirectory interface {
	// RequirementStatus returns the requirement's status (active or
	// retired), or "" if no such requirement exists.
	RequirementStatus(id RequirementID) string
}

// SetObjective sets a new objective.
type SetObjective struct {
	Meta
	ObjectiveID    ObjectiveID // chosen by the caller (a new UUID)
	Title          string
	Description    string
	Owner          string // a role, e.g. DPO or IT support manager
	Due            string // YYYY-MM-DD
	Status         string // empty means planned
	RequirementIDs []RequirementID
}

// ReviseObjective changes some fields of an objective; a nil field is left
// alone. Status changes and re-targeting (a new due date) go here.
// RequirementIDs, when not nil, replaces the whole list of linked
// requirements.
type ReviseObjective struct {
	Meta
	ObjectiveID    ObjectiveID
	Title          *string
	Description    *string
	Owner          *string
	Due            *string
	Status         *string
	RequirementIDs *[]RequirementID
}

// DefineKPI adds a KPI to an objective.
type DefineKPI struct {
	Meta
	ObjectiveID ObjectiveID
	KPIID       KPIID // chosen by the caller (a new UUID)
	Name        string
	Unit        string // e.g. "%" or "incidents"; may be empty
	Operator    string // one of Operators
	Target      float64
	Frequency   string // one of Frequencies
}

// ReviseKPI changes some fields of a KPI; a nil field is left alone.
type ReviseKPI struct {
	Meta
	ObjectiveID ObjectiveID
	KPIID       KPIID
	Name        *string
	Unit        *string
	Operator    *string
	Target      *float64
	Frequency   *string
}

// MeasureKPI records a measured value of a KPI, or corrects an earlier one.
type MeasureKPI struct {
	Meta
	ObjectiveID   ObjectiveID
	KPIID         KPIID
	MeasurementID MeasurementID // chosen by the caller (a new UUID)
	Value         float64
	// MeasuredAt is an RFC 3339 time or a YYYY-MM-DD date (midnight UTC).
	// A correction may leave it empty to keep the corrected measurement's.
	MeasuredAt string
	Corrects   *MeasurementID
}

// Set decides SetObjective against an empty stream. dir may be nil, in
// which case linked requirements are only checked to be UUIDs.
func (o *Objective) Set(cmd SetObjective, dir RequirementDirectory, now time.Time) ([]Event, error) {
	if o.Exists() {
		return nil, Errorf(ECONFLICT, "objective %s already exists", cmd.ObjectiveID)
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.ObjectiveID)) {
		v.add("id", "must be a UUID")
	}
	if cmd.Status == "" {
		cmd.Status = ObjectiveStatusPlanned
	}
	title, owner := strings.TrimSpace(cmd.Title), strings.TrimSpace(cmd.Owner)
	checkName(&v, "title", title, MaxNameLen)
	checkText(&v, "description", cmd.Description, MaxTextLen)
	checkName(&v, "owner", owner, MaxShortLen)
	checkRequiredDate(&v, "due", cmd.Due)
	checkEnum(&v, "status", cmd.Status, ObjectiveStatuses)
	ids := checkLinks(&v, "requirement_ids", cmd.RequirementIDs, nil, dir)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{ObjectiveSet{ObjectiveID: cmd.ObjectiveID, Title: title, Description: cmd.Description,
		Owner: owner, Due: cmd.Due, Status: cmd.Status, RequirementIDs: ids}}, nil
}

// checkRequiredDate validates a required YYYY-MM-DD date.
func checkRequiredDate(v *validation, field, s string) {
	if s == "" {
		v.add(field, "is required (YYYY-MM-DD)")
		return
	}
	checkDate(v, field, s)
}

// checkLinks validates a list of linked requirement ids and returns it
// (never nil). Ids in keep (the links an objective has already) are not
// looked up again: a requirement retired since it was linked stays linked.
func checkLinks(v *validation, field string, ids []RequirementID, keep []RequirementID, dir RequirementDirectory) []RequirementID {
	if len(ids) > MaxLinkedRequirements {
		v.add(field, "has %d entries; at most %d are allowed", len(ids), MaxLinkedRequirements)
		return nil
	}
	out := make([]RequirementID, 0, len(ids))
	seen := map[RequirementID]bool{}
	for _, id := range ids {
		switch {
		case !ValidID(string(id)):
			v.add(field, "%q is not a requirement id (UUID)", id)
			continue
		case seen[id]:
			v.add(field, "lists %s twice", id)
			continue
		case slices.Contains(keep, id) || dir == nil:
		case dir.RequirementStatus(id) == "":
			v.add(field, "no requirement %s", id)
			continue
		case dir.RequirementStatus(id) != StatusActive:
			v.add(field, "requirement %s is retired", id)
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// mustExist fails with ENOTFOUND when the objective has not been set (id is
// the one the command asked for).
func (o *Objective) mustExist(id ObjectiveID) error {
	if !o.Exists() {
		return Errorf(ENOTFOUND, "no objective %s", id)
	}
	return nil
}

// Revise decides ReviseObjective. It returns no events when nothing changes.
func (o *Objective) Revise(cmd ReviseObjective, dir RequirementDirectory, now time.Time) ([]Event, error) {
	if err := o.mustExist(cmd.ObjectiveID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	ch := Changes{}
	if cmd.Title != nil {
		title := strings.TrimSpace(*cmd.Title)
		checkName(&v, "title", title, MaxNameLen)
		if title != o.Title {
			ch["title"] = Change{o.Title, title}
		}
	}
	setText(&v, ch, "description", o.Description, cmd.Description, MaxTextLen)
	if cmd.Owner != nil {
		owner := strings.TrimSpace(*cmd.Owner)
		checkName(&v, "owner", owner, MaxShortLen)
		if owner != o.Owner {
			ch["owner"] = Change{o.Owner, owner}
		}
	}
	if cmd.Due != nil {
		checkRequiredDate(&v, "due", *cmd.Due)
		if *cmd.Due != o.Due {
			ch["due"] = Change{o.Due, *cmd.Due}
		}
	}
	setEnum(&v, ch, "status", o.Status, cmd.Status, ObjectiveStatuses)
	if cmd.RequirementIDs != nil {
		ids := checkLinks(&v, "requirement_ids", *cmd.RequirementIDs, o.RequirementIDs, dir)
		if !slices.Equal(ids, o.RequirementIDs) && !(len(ids) == 0 && len(o.RequirementIDs) == 0) {
			ch["requirement_ids"] = Change{idStrings(o.RequirementIDs), idStrings(ids)}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{ObjectiveRevised{ObjectiveID: o.ID, Changes: ch}}, nil
}

func idStrings(ids []RequirementID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// checkNumber rejects NaN and infinities, which no JSON document can carry.
func checkNumber(v *validation, field string, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		v.add(field, "must be a finite number")
	}
}

// nameFree fails if another KPI of the objective has name.
func (o *Objective) nameFree(name string, self KPIID) error {
	for _, id := range o.KPIOrder {
		if k := o.KPIs[id]; id != self && normName(k.Name) == normName(name) {
			return &Error{Code: ECONFLICT, Message: "a KPI of this objective already has this name",
				Fields: []FieldError{{Field: "name", Message: "is already used by KPI " + string(id)}}}
		}
	}
	return nil
}

// DefineKPI decides DefineKPI.
func (o *Objective) DefineKPI(cmd DefineKPI, now time.Time) ([]Event, error) {
	if err := o.mustExist(cmd.ObjectiveID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.KPIID)) {
		v.add("id", "must be a UUID")
	}
	name, unit := strings.TrimSpace(cmd.Name), strings.TrimSpace(cmd.Unit)
	checkName(&v, "name", name, MaxNameLen)
	checkLine(&v, "unit", unit, MaxUnitLen)
	checkEnum(&v, "operator", cmd.Operator, Operators)
	checkNumber(&v, "target", cmd.Target)
	checkEnum(&v, "frequency", cmd.Frequency, Frequencies)
	if len(o.KPIs) >= MaxKPIs {
		v.add("id", "the objective has %d KPIs already; at most %d are allowed", len(o.KPIs), MaxKPIs)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, ok := o.KPIs[cmd.KPIID]; ok {
		return nil, Errorf(ECONFLICT, "KPI %s already exists", cmd.KPIID)
	}
	if err := o.nameFree(name, ""); err != nil {
		return nil, err
	}
	return []Event{KPIDefined{ObjectiveID: o.ID, KPIID: cmd.KPIID, Name: name, Unit: unit,
		Operator: cmd.Operator, Target: cmd.Target, Frequency: cmd.Frequency}}, nil
}

func (o *Objective) kpi(id KPIID) (*KPI, error) {
	k := o.KPIs[id]
	if k == nil {
		return nil, Errorf(ENOTFOUND, "objective %s has no KPI %s", o.ID, id)
	}
	return k, nil
}

// ReviseKPI decides ReviseKPI. It returns no events when nothing changes.
func (o *Objective) ReviseKPI(cmd ReviseKPI, now time.Time) ([]Event, error) {
	if err := o.mustExist(cmd.ObjectiveID); err != nil {
		return nil, err
	}
	k, err := o.kpi(cmd.KPIID)
	if err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	ch := Changes{}
	if cmd.Name != nil {
		name := strings.TrimSpace(*cmd.Name)
		checkName(&v, "name", name, MaxNameLen)
		if name != k.Name {
			ch["name"] = Change{k.Name, name}
		}
	}
	if cmd.Unit != nil {
		unit := strings.TrimSpace(*cmd.Unit)
		checkLine(&v, "unit", unit, MaxUnitLen)
		if unit != k.Unit {
			ch["unit"] = Change{k.Unit, unit}
		}
	}
	setEnum(&v, ch, "operator", k.Operator, cmd.Operator, Operators)
	if cmd.Target != nil {
		checkNumber(&v, "target", *cmd.Target)
		if *cmd.Target != k.Target {
			ch["target"] = Change{k.Target, *cmd.Target}
		}
	}
	setEnum(&v, ch, "frequency", k.Frequency, cmd.Frequency, Frequencies)
	if err := v.err(); err != nil {
		return nil, err
	}
	if c, ok := ch["name"]; ok {
		if err := o.nameFree(c.To.(string), k.ID); err != nil {
			return nil, err
		}
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{KPIRevised{ObjectiveID: o.ID, KPIID: k.ID, Changes: ch}}, nil
}

// Measure decides MeasureKPI. A correction must name a measurement of the
// same KPI; without a time of its own it keeps the corrected one's.
func (o *Objective) Measure(cmd MeasureKPI, now time.Time) ([]Event, error) {
	if err := o.mustExist(cmd.ObjectiveID); err != nil {
		return nil, err
	}
	k, err := o.kpi(cmd.KPIID)
	if err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.MeasurementID)) {
		v.add("id", "must be a UUID")
	}
	checkNumber(&v, "value", cmd.Value)
	var corrected *MeasurementInfo
	if cmd.Corrects != nil {
		c, ok := o.Measurements[*cmd.Corrects]
		switch {
		case !ValidID(string(*cmd.Corrects)):
			v.add("corrects", "must be a measurement id (UUID)")
		case !ok:
			v.add("corrects", "no measurement %s", *cmd.Corrects)
		case c.KPIID != k.ID:
			v.add("corrects", "measurement %s is of another KPI", *cmd.Corrects)
		default:
			corrected = &c
		}
	}
	at := cmd.MeasuredAt
	if at == "" && corrected != nil {
		at = corrected.MeasuredAt
	} else {
		at = checkInstant(&v, "measured_at", cmd.MeasuredAt, now)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, dup := o.Measurements[cmd.MeasurementID]; dup {
		return nil, Errorf(ECONFLICT, "measurement %s already exists", cmd.MeasurementID)
	}
	return []Event{KPIMeasured{ObjectiveID: o.ID, KPIID: k.ID, MeasurementID: cmd.MeasurementID,
		Value: cmd.Value, MeasuredAt: at, Corrects: clonePtr(cmd.Corrects)}}, nil
}

// checkInstant validates a required point in time, given as RFC 3339 or as
// a YYYY-MM-DD date (midnight UTC), and returns it in the stored form (RFC
// 3339 in UTC, whole seconds). It may be at most a day after now: somewhere
// on earth it may already be tomorrow, but never later.
func checkInstant(v *validation, field, s string, now time.Time) string {
	if s == "" {
		v.add(field, "is required (an RFC 3339 time or a date YYYY-MM-DD)")
		return ""
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.Parse(DateLayout, s)
	}
	if err != nil {
		v.add(field, "must be an RFC 3339 time such as 2026-05-31T23:00:00Z, or a date YYYY-MM-DD")
		return ""
	}
	if t.After(now.Add(maxFutureReviewed)) {
		v.add(field, "is in the future")
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// FormatNumber renders a KPI value or target the way people write it: no
// exponent, no trailing zeros.
func FormatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
