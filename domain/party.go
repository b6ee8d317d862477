package domain

import (
	"slices"
	"strings"
	"time"
)

// Party is the state of one interested party, folded from its stream. It
// holds the party's requirements and expectations.
type Party struct {
	ID          PartyID
	Version     int64 // stream version of the last applied event
	Name        string
	Category    string
	Scope       string
	Description string
	Owner       string
	Influence   int
	Interest    int
	ParentID    *PartyID
	Status      string

	Requirements map[RequirementID]*Requirement
	Order        []RequirementID            // requirements in the order they were identified
	Plan         map[PlanEntryID]*PlanEntry // the party's communication plan (clause 7.4)
}

// Requirement is the state of one requirement or expectation.
type Requirement struct {
	ID          RequirementID
	PartyID     PartyID
	Kind        string
	Title       string
	Description string
	SourceType  string
	SourceRef   string
	Owner       string
	Priority    string
	ReviewDue   *string
	Addressed   *bool
	Rationale   string
	Treatment   string
	Controls    []string
	Status      string
}

// Exists reports whether the party has been identified.
func (p *Party) Exists() bool { return p != nil && p.Status != "" }

// Apply folds one event into the state. Events of other aggregates are
// ignored. Apply never fails: events are facts.
func (p *Party) Apply(e Event) {
	p.Version++
	switch e := e.(type) {
	case PartyIdentified:
		p.ID, p.Name, p.Category, p.Scope = e.PartyID, e.Name, e.Category, e.Scope
		p.Description, p.Owner, p.Influence, p.Interest = e.Description, e.Owner, e.Influence, e.Interest
		p.ParentID = clonePtr(e.ParentID)
		p.Status = StatusActive
		p.Requirements = map[RequirementID]*Requirement{}
	case PartyRevised:
		p.applyChanges(e.Changes)
	case PartyRetired:
		p.Status = StatusRetired
	case RequirementIdentified:
		r := &Requirement{ID: e.RequirementID, PartyID: e.PartyID, Kind: e.Kind, Title: e.Title,
			Description: e.Description, SourceType: e.SourceType, SourceRef: e.SourceRef,
			Owner: e.Owner, Priority: e.Priority, ReviewDue: clonePtr(e.ReviewDue), Addressed: clonePtr(e.Addressed),
			Rationale: e.Rationale, Treatment: e.Treatment, Controls: slices.Clone(e.Controls),
			Status: StatusActive}
		if p.Requirements == nil {
			p.Requirements = map[RequirementID]*Requirement{}
		}
		p.Requirements[r.ID] = r
		p.Order = append(p.Order, r.ID)
	case RequirementRevised:
		if r := p.Requirements[e.RequirementID]; r != nil {
			r.applyChanges(e.Changes)
		}
	case RequirementAddressingDecided:
		if r := p.Requirements[e.RequirementID]; r != nil {
			r.Addressed, r.Rationale, r.Treatment = clonePtr(e.Addressed), e.Rationale, e.Treatment
			r.Controls = slices.Clone(e.Controls)
		}
	case RequirementRetired:
		if r := p.Requirements[e.RequirementID]; r != nil {
			r.Status = StatusRetired
		}
	case RequirementReviewed, CommunicationPlanned:
		p.applyReviewAndPlan(e)
	}
}

// FoldParty rebuilds a party from its events, oldest first.
func FoldParty(events []Event) *Party {
	p := &Party{}
	for _, e := range events {
		p.Apply(e)
	}
	return p
}

func (p *Party) applyChanges(c Changes) {
	for f, ch := range c {
		switch f {
		case "name":
			p.Name = asString(ch.To)
		case "category":
			p.Category = asString(ch.To)
		case "scope":
			p.Scope = asString(ch.To)
		case "description":
			p.Description = asString(ch.To)
		case "owner":
			p.Owner = asString(ch.To)
		case "influence":
			p.Influence = asInt(ch.To)
		case "interest":
			p.Interest = asInt(ch.To)
		case "parent_id":
			if s := asString(ch.To); s != "" {
				id := PartyID(s)
				p.ParentID = &id
			} else {
				p.ParentID = nil
			}
		}
	}
}

func (r *Requirement) applyChanges(c Changes) {
	for f, ch := range c {
		switch f {
		case "kind":
			r.Kind = asString(ch.To)
		case "title":
			r.Title = asString(ch.To)
		case "description":
			r.Description = asString(ch.To)
		case "source_type":
			r.SourceType = asString(ch.To)
		case "source_ref":
			r.SourceRef = asString(ch.To)
		case "owner":
			r.Owner = asString(ch.To)
		case "priority":
			r.Priority = asString(ch.To)
		case "review_due":
			if s := asString(ch.To); s != "" {
				r.ReviewDue = &s
			} else {
				r.ReviewDue = nil
			}
		}
	}
}

// asString reads a JSON string value (nil and non-strings become "").
func asString(v any) string {
	s, _ := v.(string)
	return s
}

// asInt reads a JSON number value, which decodes as float64, or an int.
func asInt(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

// Directory answers the questions about other parties that a party decision
// needs and cannot see in its own stream. The service implements it from the
// register read model; tests implement it with a map.
type Directory interface {
	// ActivePartyByName returns the active party whose name is name, compared
	// by [NormalizeName].
	ActivePartyByName(name string) (PartyID, bool)
	// PartyStatus returns the party's status, or "" if no such party exists.
	PartyStatus(id PartyID) string
	// ParentOf returns the party's parent, if it has one.
	ParentOf(id PartyID) (PartyID, bool)
}

// IdentifyParty adds an interested party to the register.
type IdentifyParty struct {
	Meta
	PartyID     PartyID // chosen by the caller (a new UUID)
	Name        string
	Category    string
	Scope       string
	Description string
	Owner       string
	Influence   int
	Interest    int
	ParentID    *PartyID
}

// ReviseParty changes some fields of a party. A nil field is left alone;
// ParentID pointing at "" removes the parent.
type ReviseParty struct {
	Meta
	PartyID     PartyID
	Name        *string
	Category    *string
	Scope       *string
	Description *string
	Owner       *string
	Influence   *int
	Interest    *int
	ParentID    *PartyID
}

// RetireParty removes a party from the active register. Its history stays.
type RetireParty struct {
	Meta
	PartyID PartyID
}

// Identify decides IdentifyParty against an empty stream.
func (p *Party) Identify(cmd IdentifyParty, dir Directory, now time.Time) ([]Event, error) {
	var v validation
	cmd.Meta.validate(&v, false)
	if p.Exists() {
		return nil, Errorf(ECONFLICT, "party %s already exists", cmd.PartyID)
	}
	if !ValidID(string(cmd.PartyID)) {
		v.add("id", "must be a UUID")
	}
	name := strings.TrimSpace(cmd.Name)
	checkName(&v, "name", name, MaxNameLen)
	checkEnum(&v, "category", cmd.Category, Categories)
	checkEnum(&v, "scope", cmd.Scope, Scopes)
	checkText(&v, "description", cmd.Description, MaxTextLen)
	checkText(&v, "owner", cmd.Owner, MaxShortLen)
	checkLevel(&v, "influence", cmd.Influence)
	checkLevel(&v, "interest", cmd.Interest)
	if cmd.ParentID != nil {
		checkParent(&v, dir, cmd.PartyID, *cmd.ParentID)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if other, taken := dir.ActivePartyByName(name); taken {
		return nil, &Error{Code: ECONFLICT, Message: "an active party with this name already exists",
			Fields: []FieldError{{Field: "name", Message: "is already used by party " + string(other)}}}
	}
	return []Event{PartyIdentified{PartyID: cmd.PartyID, Name: name, Category: cmd.Category,
		Scope: cmd.Scope, Description: cmd.Description, Owner: strings.TrimSpace(cmd.Owner),
		Influence: cmd.Influence, Interest: cmd.Interest, ParentID: clonePtr(cmd.ParentID)}}, nil
}

func checkParent(v *validation, dir Directory, self, parent PartyID) {
	switch {
	case !ValidID(string(parent)):
		v.add("parent_id", "must be a party id (UUID)")
	case parent == self:
		v.add("parent_id", "a party cannot be its own parent")
	case dir.PartyStatus(parent) == "":
		v.add("parent_id", "no party %s", parent)
	case dir.PartyStatus(parent) != StatusActive:
		v.add("parent_id", "party %s is retired", parent)
	default:
		// Walk up from the new parent: meeting self would close a cycle.
		seen := map[PartyID]bool{}
		for cur, ok := parent, true; ok; cur, ok = dir.ParentOf(cur) {
			if cur == self {
				v.add("parent_id", "would make a cycle of parents")
				return
			}
			if seen[cur] {
				return
			}
			seen[cur] = true
		}
	}
}

// Revise decides ReviseParty. It returns no events when nothing changes.
func (p *Party) Revise(cmd ReviseParty, dir Directory, now time.Time) ([]Event, error) {
	if err := p.mustBeActive(cmd.PartyID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	ch := Changes{}
	if cmd.Name != nil {
		name := strings.TrimSpace(*cmd.Name)
		checkName(&v, "name", name, MaxNameLen)
		if name != p.Name {
			ch["name"] = Change{p.Name, name}
		}
	}
	setEnum(&v, ch, "category", p.Category, cmd.Category, Categories)
	setEnum(&v, ch, "scope", p.Scope, cmd.Scope, Scopes)
	setText(&v, ch, "description", p.Description, cmd.Description, MaxTextLen)
	setText(&v, ch, "owner", p.Owner, trimPtr(cmd.Owner), MaxShortLen)
	setLevel(&v, ch, "influence", p.Influence, cmd.Influence)
	setLevel(&v, ch, "interest", p.Interest, cmd.Interest)
	if cmd.ParentID != nil {
		from := idOrNil(p.ParentID)
		if *cmd.ParentID == "" {
			if p.ParentID != nil {
				ch["parent_id"] = Change{from, nil}
			}
		} else if p.ParentID == nil || *p.ParentID != *cmd.ParentID {
			// Only a new parent is checked: restating the current one (which
			// may have been retired since) changes nothing.
			checkParent(&v, dir, p.ID, *cmd.ParentID)
			ch["parent_id"] = Change{from, string(*cmd.ParentID)}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if c, ok := ch["name"]; ok && normName(c.To.(string)) != normName(p.Name) {
		if other, taken := dir.ActivePartyByName(c.To.(string)); taken && other != p.ID {
			return nil, &Error{Code: ECONFLICT, Message: "an active party with this name already exists",
				Fields: []FieldError{{Field: "name", Message: "is already used by party " + string(other)}}}
		}
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{PartyRevised{PartyID: p.ID, Changes: ch}}, nil
}

// Retire decides RetireParty.
func (p *Party) Retire(cmd RetireParty, now time.Time) ([]Event, error) {
	if err := p.mustBeActive(cmd.PartyID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{PartyRetired{PartyID: p.ID,
		Changes: Changes{"status": {StatusActive, StatusRetired}}}}, nil
}

// mustBeActive fails with ENOTFOUND if the party does not exist (id is the
// one the command asked for: an empty state has no ID) and ECONFLICT if it is
// retired.
func (p *Party) mustBeActive(id PartyID) error {
	if !p.Exists() {
		return Errorf(ENOTFOUND, "no party %s", id)
	}
	if p.Status != StatusActive {
		return &Error{Code: ECONFLICT, Message: "party " + string(p.ID) + " is retired; retired parties cannot change"}
	}
	return nil
}

func idOrNil(id *PartyID) any {
	if id == nil {
		return nil
	}
	return string(*id)
}

func trimPtr(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

func setEnum(v *validation, ch Changes, field, cur string, to *string, e enum) {
	if to == nil {
		return
	}
	checkEnum(v, field, *to, e)
	if *to != cur {
		ch[field] = Change{cur, *to}
	}
}

func setText(v *validation, ch Changes, field, cur string, to *string, max int) {
	if to == nil {
		return
	}
	checkText(v, field, *to, max)
	if *to != cur {
		ch[field] = Change{cur, *to}
	}
}

func setLevel(v *validation, ch Changes, field string, cur int, to *int) {
	if to == nil {
		return
	}
	checkLevel(v, field, *to)
	if *to != cur {
		ch[field] = Change{cur, *to}
	}
}

// clonePtr returns a copy of *p, so that events and state never share memory
// with a command the caller may reuse.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Clone returns a deep copy of the party, which shares no memory with p:
// callers may keep it while p goes on folding events.
func (p *Party) Clone() *Party {
	c := *p
	c.ParentID = clonePtr(p.ParentID)
	c.Order = slices.Clone(p.Order)
	if p.Requirements != nil {
		c.Requirements = make(map[RequirementID]*Requirement, len(p.Requirements))
		for id, r := range p.Requirements {
			rc := *r
			rc.ReviewDue, rc.Addressed, rc.Controls = clonePtr(r.ReviewDue), clonePtr(r.Addressed), slices.Clone(r.Controls)
			c.Requirements[id] = &rc
		}
	}
	if p.Plan != nil {
		c.Plan = make(map[PlanEntryID]*PlanEntry, len(p.Plan))
		for id, e := range p.Plan {
			ec := *e
			c.Plan[id] = &ec
		}
	}
	return &c
}
