package domain

import (
	"slices"
	"strings"
	"time"
)

// IdentifyRequirement adds a requirement or expectation to a party.
type IdentifyRequirement struct {
	Meta
	PartyID       PartyID
	RequirementID RequirementID // chosen by the caller (a new UUID)
	Kind          string
	Title         string
	Description   string
	SourceType    string // empty means DefaultSourceType
	SourceRef     string
	Owner         string
	Priority      string // empty means DefaultPriority
	ReviewDue     string // YYYY-MM-DD or empty
	Addressed     *bool  // nil: not yet decided
	Rationale     string
	Treatment     string
	Controls      []string
}

// ReviseRequirement changes some fields of a requirement. A nil field is left
// alone; ReviewDue pointing at "" clears the date. The addressing decision
// has its own command, [DecideAddressing].
type ReviseRequirement struct {
	Meta
	PartyID       PartyID
	RequirementID RequirementID
	Kind          *string
	Title         *string
	Description   *string
	SourceType    *string
	SourceRef     *string
	Owner         *string
	Priority      *string
	ReviewDue     *string
}

// DecideAddressing records whether a requirement is addressed through the
// ISMS (clause 4.2 c), why, and how. Addressed nil means "not yet decided".
type DecideAddressing struct {
	Meta
	PartyID       PartyID
	RequirementID RequirementID
	Addressed     *bool
	Rationale     string
	Treatment     string
	Controls      []string
}

// RetireRequirement records that a requirement no longer applies.
type RetireRequirement struct {
	Meta
	PartyID       PartyID
	RequirementID RequirementID
}

// IdentifyRequirement decides IdentifyRequirement.
func (p *Party) IdentifyRequirement(cmd IdentifyRequirement, now time.Time) ([]Event, error) {
	if err := p.mustBeActive(cmd.PartyID); err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.RequirementID)) {
		v.add("id", "must be a UUID")
	}
	if cmd.SourceType == "" {
		cmd.SourceType = DefaultSourceType
	}
	if cmd.Priority == "" {
		cmd.Priority = DefaultPriority
	}
	title := strings.TrimSpace(cmd.Title)
	checkEnum(&v, "kind", cmd.Kind, Kinds)
	checkName(&v, "title", title, MaxNameLen)
	checkText(&v, "description", cmd.Description, MaxTextLen)
	checkEnum(&v, "source_type", cmd.SourceType, SourceTypes)
	checkText(&v, "source_ref", cmd.SourceRef, MaxShortLen)
	checkText(&v, "owner", cmd.Owner, MaxShortLen)
	checkEnum(&v, "priority", cmd.Priority, Priorities)
	checkDate(&v, "review_due", cmd.ReviewDue)
	checkText(&v, "rationale", cmd.Rationale, MaxTextLen)
	checkText(&v, "treatment", cmd.Treatment, MaxTextLen)
	checkControls(&v, "controls", cmd.Controls)
	if err := v.err(); err != nil {
		return nil, err
	}
	if _, ok := p.Requirements[cmd.RequirementID]; ok {
		return nil, Errorf(ECONFLICT, "requirement %s already exists", cmd.RequirementID)
	}
	if err := p.titleFree(title, ""); err != nil {
		return nil, err
	}
	var due *string
	if cmd.ReviewDue != "" {
		due = &cmd.ReviewDue
	}
	controls := slices.Clone(cmd.Controls)
	if controls == nil {
		controls = []string{}
	}
	return []Event{RequirementIdentified{PartyID: p.ID, RequirementID: cmd.RequirementID,
		Kind: cmd.Kind, Title: title, Description: cmd.Description, SourceType: cmd.SourceType,
		SourceRef: strings.TrimSpace(cmd.SourceRef), Owner: strings.TrimSpace(cmd.Owner),
		Priority: cmd.Priority, ReviewDue: due, Addressed: clonePtr(cmd.Addressed), Rationale: cmd.Rationale,
		Treatment: cmd.Treatment, Controls: controls}}, nil
}

// titleFree fails if another active requirement of the party has title.
func (p *Party) titleFree(title string, self RequirementID) error {
	for _, id := range p.Order {
		r := p.Requirements[id]
		if r.ID != self && r.Status == StatusActive && normName(r.Title) == normName(title) {
			return &Error{Code: ECONFLICT, Message: "an active requirement of this party already has this title",
				Fields: []FieldError{{Field: "title", Message: "is already used by requirement " + string(r.ID)}}}
		}
	}
	return nil
}

func (p *Party) activeRequirement(party PartyID, id RequirementID) (*Requirement, error) {
	if err := p.mustBeActive(party); err != nil {
		return nil, err
	}
	r := p.Requirements[id]
	if r == nil {
		return nil, Errorf(ENOTFOUND, "party %s has no requirement %s", p.ID, id)
	}
	if r.Status != StatusActive {
		return nil, Errorf(ECONFLICT, "requirement %s is retired; retired requirements cannot change", id)
	}
	return r, nil
}

// ReviseRequirement decides ReviseRequirement. It returns no events when
// nothing changes.
func (p *Party) ReviseRequirement(cmd ReviseRequirement, now time.Time) ([]Event, error) {
	r, err := p.activeRequirement(cmd.PartyID, cmd.RequirementID)
	if err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	ch := Changes{}
	setEnum(&v, ch, "kind", r.Kind, cmd.Kind, Kinds)
	if cmd.Title != nil {
		title := strings.TrimSpace(*cmd.Title)
		checkName(&v, "title", title, MaxNameLen)
		if title != r.Title {
			ch["title"] = Change{r.Title, title}
		}
	}
	setText(&v, ch, "description", r.Description, cmd.Description, MaxTextLen)
	setEnum(&v, ch, "source_type", r.SourceType, cmd.SourceType, SourceTypes)
	setText(&v, ch, "source_ref", r.SourceRef, trimPtr(cmd.SourceRef), MaxShortLen)
	setText(&v, ch, "owner", r.Owner, trimPtr(cmd.Owner), MaxShortLen)
	setEnum(&v, ch, "priority", r.Priority, cmd.Priority, Priorities)
	if cmd.ReviewDue != nil {
		checkDate(&v, "review_due", *cmd.ReviewDue)
		if *cmd.ReviewDue != strOrEmpty(r.ReviewDue) {
			ch["review_due"] = Change{strOrNil(r.ReviewDue), emptyToNil(*cmd.ReviewDue)}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if c, ok := ch["title"]; ok {
		if err := p.titleFree(c.To.(string), r.ID); err != nil {
			return nil, err
		}
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{RequirementRevised{PartyID: p.ID, RequirementID: r.ID, Changes: ch}}, nil
}

// DecideAddressing decides DecideAddressing. It returns no events when the
// decision, rationale, treatment and controls are all unchanged.
func (p *Party) DecideAddressing(cmd DecideAddressing, now time.Time) ([]Event, error) {
	r, err := p.activeRequirement(cmd.PartyID, cmd.RequirementID)
	if err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	checkText(&v, "rationale", cmd.Rationale, MaxTextLen)
	checkText(&v, "treatment", cmd.Treatment, MaxTextLen)
	checkControls(&v, "controls", cmd.Controls)
	if err := v.err(); err != nil {
		return nil, err
	}
	controls := slices.Clone(cmd.Controls)
	if controls == nil {
		controls = []string{}
	}
	ch := Changes{}
	if !sameBool(r.Addressed, cmd.Addressed) {
		ch["addressed"] = Change{boolOrNil(r.Addressed), boolOrNil(cmd.Addressed)}
	}
	if r.Rationale != cmd.Rationale {
		ch["rationale"] = Change{r.Rationale, cmd.Rationale}
	}
	if r.Treatment != cmd.Treatment {
		ch["treatment"] = Change{r.Treatment, cmd.Treatment}
	}
	cur := r.Controls
	if cur == nil {
		cur = []string{}
	}
	if !slices.Equal(cur, controls) {
		ch["controls"] = Change{slices.Clone(cur), slices.Clone(controls)}
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{RequirementAddressingDecided{PartyID: p.ID, RequirementID: r.ID,
		Addressed: clonePtr(cmd.Addressed), Rationale: cmd.Rationale, Treatment: cmd.Treatment,
		Controls: controls, Changes: ch}}, nil
}

// RetireRequirement decides RetireRequirement.
func (p *Party) RetireRequirement(cmd RetireRequirement, now time.Time) ([]Event, error) {
	r, err := p.activeRequirement(cmd.PartyID, cmd.RequirementID)
	if err != nil {
		return nil, err
	}
	var v validation
	cmd.Meta.validate(&v, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{RequirementRetired{PartyID: p.ID, RequirementID: r.ID,
		Changes: Changes{"status": {StatusActive, StatusRetired}}}}, nil
}

func sameBool(a, b *bool) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

func strOrNil(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func strOrEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func emptyToNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
