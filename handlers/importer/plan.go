package importer

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/xuri/excelize/v2"

	"github.com/partyledger/partyledger/domain"
)

// Register is the current register as the planner needs to see it. The
// wiring implements it from the read model (to find a party by name) and
// the party's stream (to fold its state and version).
type Register interface {
	// PartyByName returns the active party whose name has the normalised
	// form key (see [domain.NormalizeName]), folded from its stream so that
	// Version is the stream version an append must expect, or nil if there
	// is none. The planner never modifies the returned party. An error is
	// returned as it is (the store is unavailable, say).
	PartyByName(ctx context.Context, key string) (*domain.Party, error)
	// ActiveParties returns every active party, folded as above. The
	// planner calls it only when [Options.RetireMissing] is set.
	ActiveParties(ctx context.Context) ([]*domain.Party, error)
}

// Options are the parts of the import that do not come from the file.
type Options struct {
	// Actor, Reason and Trigger go into every command's [domain.Meta]; a
	// row's trigger column overrides Trigger. Reason defaults to
	// "import of <filename>" (the wiring knows the file name).
	Actor         string
	Reason        string
	Trigger       string
	CorrelationID string
	// RetireMissing retires the active requirements of the file's parties
	// that the file does not list (when the file has requirements), and the
	// active parties the file does not list. Off by default: rows absent
	// from the file are left alone.
	RetireMissing bool
	// EffectiveOn is the form's effective date (YYYY-MM-DD) for rows
	// without an effective date column value; "" means the recording date.
	EffectiveOn string
	// Now is the decision time (the server clock, read by the caller).
	Now time.Time
	// NewID makes ids for new parties and requirements; the default makes
	// UUIDv7s.
	NewID func() string
}

// Counts says how many records of one kind the plan adds, revises, leaves
// unchanged, and (with [Options.RetireMissing]) retires.
type Counts struct {
	Added     int `json:"added"`
	Revised   int `json:"revised"`
	Unchanged int `json:"unchanged"`
	Retired   int `json:"retired,omitempty"`
}

// Item is one planned change, for people to read: which row, what action,
// which party and requirement, and the field changes (from, to).
type Item struct {
	Row         int            `json:"row"`
	Action      string         `json:"action"`
	Party       string         `json:"party"`
	Requirement string         `json:"requirement,omitempty"`
	Changes     domain.Changes `json:"changes,omitempty"`
}

// Item actions.
const (
	ActionAddParty          = "add_party"
	ActionReviseParty       = "revise_party"
	ActionRetireParty       = "retire_party"
	ActionAddRequirement    = "add_requirement"
	ActionReviseRequirement = "revise_requirement"
	ActionDecideAddressing  = "decide_addressing"
	ActionRetireRequirement = "retire_requirement"
)

// Step is one domain command of the plan, in the order it must run, with
// the events the domain decided for it against the planned state.
type Step struct {
	Row     int
	PartyID domain.PartyID
	// Command is one of domain.IdentifyParty, ReviseParty, RetireParty,
	// IdentifyRequirement, ReviseRequirement, DecideAddressing or
	// RetireRequirement (values, not pointers).
	Command any
	// Meta is the command's actor, reason, trigger and correlation: the
	// envelope of each of Events.
	Meta   domain.Meta
	Events []domain.Event
	// EffectiveOn is the row's effective date, else [Options.EffectiveOn]
	// (YYYY-MM-DD), or "". It is not applied yet: effective dates arrive
	// with the write path's changes.
	EffectiveOn string
}

// Append is what one party stream receives: the events of its steps, to be
// appended with ExpectedVersion (0, eventstore.NoStream, for a new party).
// All of a plan's appends must be written atomically, or none.
type Append struct {
	Stream          string
	PartyID         domain.PartyID
	ExpectedVersion int64
	Events          []domain.Event
}

// Plan is the answer to an import: the counts, the problems, the readable
// items and, for the writer, the commands and events. A plan with Errors
// must not be written.
type Plan struct {
	DryRun        bool    `json:"dry_run"`
	Parties       Counts  `json:"parties"`
	Requirements  Counts  `json:"requirements"`
	Relationships Counts  `json:"relationships"` // not imported yet: always zero
	Errors        []Issue `json:"errors"`
	Warnings      []Issue `json:"warnings"`
	Items         []Item  `json:"items"`

	Steps   []Step   `json:"-"`
	Appends []Append `json:"-"`
}

// Events returns how many events the plan appends.
func (p *Plan) Events() int {
	n := 0
	for _, a := range p.Appends {
		n += len(a.Events)
	}
	return n
}

// Planner plans imports against a register.
type Planner struct {
	Register Register
}

// Plan compares the table's rows with the register and decides, through the
// domain, every command the import needs. Errors in the file (including the
// domain's validation of each command) are in the plan; the returned error
// is only for a failing [Register].
func (pl *Planner) Plan(ctx context.Context, t *Table, opts Options) (*Plan, error) {
	if opts.NewID == nil {
		opts.NewID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if opts.Reason == "" {
		opts.Reason = "import of " + t.Filename
	}
	if opts.Now.IsZero() {
		return nil, errors.New("plan: Options.Now is required")
	}
	ps := &planState{t: t, opts: opts, reg: pl.Register, ctx: ctx,
		plan:    &Plan{Errors: slices.Clone(t.Errors), Warnings: slices.Clone(t.Warnings), Items: []Item{}},
		planned: map[string]domain.PartyID{}, appends: map[domain.PartyID]int{}}
	if ps.plan.Errors == nil {
		ps.plan.Errors = []Issue{}
	}
	if ps.plan.Warnings == nil {
		ps.plan.Warnings = []Issue{}
	}
	if e := opts.EffectiveOn; e != "" {
		if _, err := time.Parse(domain.DateLayout, e); err != nil || e > opts.Now.UTC().Format(domain.DateLayout) {
			ps.plan.Errors = append(ps.plan.Errors, Issue{Field: string(FieldEffectiveOn), Value: e,
				Message: "the effective date must be a date YYYY-MM-DD, not in the future"})
		}
	}
	var order []string
	groups := map[string][]*Row{}
	for i := range t.Rows {
		r := &t.Rows[i]
		if r.Party.Name == "" {
			continue
		}
		key := domain.NormalizeName(r.Party.Name)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], r)
	}
	for _, key := range order {
		if err := ps.party(key, groups[key]); err != nil {
			return nil, err
		}
	}
	if opts.RetireMissing && len(t.Errors) == 0 && len(groups) == 0 {
		ps.plan.Errors = append(ps.plan.Errors, Issue{Sheet: t.Sheet, Message: "the file lists no parties: " +
			"with retire_missing it would retire the whole register, so nothing is planned"})
	} else if opts.RetireMissing && len(t.Errors) == 0 {
		all, err := pl.Register.ActiveParties(ctx)
		if err != nil {
			return nil, fmt.Errorf("plan: active parties: %w", err)
		}
		for _, p := range all {
			if _, ok := groups[domain.NormalizeName(p.Name)]; ok || p.Status != domain.StatusActive {
				continue
			}
			work := clone(p)
			cmd := domain.RetireParty{Meta: ps.meta(nil), PartyID: p.ID}
			events, err := work.Retire(cmd, opts.Now)
			if ps.domainError(err, nil, true) {
				continue
			}
			ps.step(work, p.Version, nil, cmd, events, Item{Action: ActionRetireParty, Party: p.Name,
				Changes: events[0].(domain.PartyRetired).Changes})
			ps.plan.Parties.Retired++
		}
	}
	// Errors in file order: by row, then by column.
	slices.SortStableFunc(ps.plan.Errors, func(a, b Issue) int {
		if a.Row != b.Row {
			return a.Row - b.Row
		}
		return columnOf(a.Cell) - columnOf(b.Cell)
	})
	return ps.plan, nil
}

// columnOf is the 1-based column of a cell name, 0 for none.
func columnOf(cell string) int {
	c, _, err := excelize.CellNameToCoordinates(cell)
	if err != nil {
		return 0
	}
	return c
}

// planState is one planning run.
type planState struct {
	ctx     context.Context
	t       *Table
	opts    Options
	reg     Register
	plan    *Plan
	planned map[string]domain.PartyID // normalised name -> party added by this plan
	appends map[domain.PartyID]int    // index into plan.Appends
}

// ActivePartyByName, PartyStatus and ParentOf make the plan a
// [domain.Directory]: names already claimed by parties this plan adds count
// as taken. The importer never sets parents.
func (ps *planState) ActivePartyByName(name string) (domain.PartyID, bool) {
	id, ok := ps.planned[domain.NormalizeName(name)]
	return id, ok
}
func (ps *planState) PartyStatus(id domain.PartyID) string              { return "" }
func (ps *planState) ParentOf(id domain.PartyID) (domain.PartyID, bool) { return "", false }

func (ps *planState) meta(row *Row) domain.Meta {
	m := domain.Meta{Actor: ps.opts.Actor, Reason: ps.opts.Reason, Trigger: ps.opts.Trigger,
		CorrelationID: ps.opts.CorrelationID}
	if row != nil && row.Trigger != "" {
		m.Trigger = row.Trigger
	}
	return m
}

// step records one decided command: applies its events to the working
// state, adds it to the party's append and lists the item.
func (ps *planState) step(work *domain.Party, version int64, row *Row, cmd any, events []domain.Event, item Item) {
	for _, e := range events {
		work.Apply(e)
	}
	i, ok := ps.appends[work.ID]
	if !ok {
		i = len(ps.plan.Appends)
		ps.appends[work.ID] = i
		ps.plan.Appends = append(ps.plan.Appends, Append{Stream: work.ID.Stream(), PartyID: work.ID, ExpectedVersion: version})
	}
	ps.plan.Appends[i].Events = append(ps.plan.Appends[i].Events, events...)
	s := Step{PartyID: work.ID, Command: cmd, Meta: commandMeta(cmd), Events: events, EffectiveOn: ps.opts.EffectiveOn}
	if row != nil {
		s.Row, item.Row = row.Line, row.Line
		if row.EffectiveOn != "" {
			s.EffectiveOn = row.EffectiveOn
		}
	}
	s.Meta.EffectiveOn = s.EffectiveOn // stamped on the step's events, covered by the hash
	ps.plan.Steps = append(ps.plan.Steps, s)
	ps.plan.Items = append(ps.plan.Items, item)
}

// commandMeta returns the Meta of one of the plan's domain commands.
func commandMeta(cmd any) domain.Meta {
	switch c := cmd.(type) {
	case domain.IdentifyParty:
		return c.Meta
	case domain.ReviseParty:
		return c.Meta
	case domain.RetireParty:
		return c.Meta
	case domain.IdentifyRequirement:
		return c.Meta
	case domain.ReviseRequirement:
		return c.Meta
	case domain.DecideAddressing:
		return c.Meta
	case domain.RetireRequirement:
		return c.Meta
	}
	panic(fmt.Sprintf("importer: step with command %T", cmd))
}

// domainFields maps the domain's field names to the file's, per command kind.
var partyDomainFields = map[string]Field{"name": FieldName, "category": FieldCategory, "scope": FieldScope,
	"owner": FieldPartyOwner, "description": FieldPartyDescription, "influence": FieldInfluence,
	"interest": FieldInterest, "trigger": FieldTrigger}

// domainError turns a decision's error into row errors. It reports whether
// there was an error.
func (ps *planState) domainError(err error, row *Row, party bool) bool {
	if err == nil {
		return false
	}
	line := 0
	if row != nil {
		line = row.Line
	}
	var de *domain.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		ps.plan.Errors = append(ps.plan.Errors, Issue{Sheet: ps.t.Sheet, Row: line, Message: err.Error()})
		return true
	}
	for _, fe := range de.Fields {
		f := Field(fe.Field)
		if party {
			if pf, ok := partyDomainFields[fe.Field]; ok {
				f = pf
			}
		}
		raw := ""
		if row != nil {
			if row.bad[f] {
				continue // already reported as an unreadable cell
			}
			raw = row.raw[f]
		}
		is := ps.t.issueAt(line, f, raw, fieldLabel(f)+" "+fe.Message)
		if _, ok := ps.t.columnOf[f]; !ok && !knownField(f) {
			is.Field = fe.Field // actor, reason, id: not a column of the file
		}
		ps.plan.Errors = append(ps.plan.Errors, is)
	}
	return true
}

// party plans one party and the requirements its rows carry.
func (ps *planState) party(key string, rows []*Row) error {
	cur, err := ps.reg.PartyByName(ps.ctx, key)
	if err != nil {
		return fmt.Errorf("plan: party %q: %w", rows[0].Party.Name, err)
	}
	if cur != nil && cur.Status != domain.StatusActive {
		cur = nil
	}
	v := ps.mergeParty(rows)
	first := rows[0]
	var work *domain.Party
	t := ps.t
	if cur == nil {
		cmd := domain.IdentifyParty{Meta: ps.meta(first), PartyID: domain.PartyID(ps.opts.NewID()),
			Name: v.Name, Category: v.Category, Scope: v.Scope, Owner: v.Owner, Description: v.Description,
			Influence: v.Influence, Interest: v.Interest}
		if cmd.Category == "" {
			cmd.Category = "other"
		}
		if cmd.Influence == 0 {
			cmd.Influence = domain.DefaultLevel
		}
		if cmd.Interest == 0 {
			cmd.Interest = domain.DefaultLevel
		}
		work = &domain.Party{}
		events, err := work.Identify(cmd, ps, ps.opts.Now)
		if ps.domainError(err, first, true) {
			return nil
		}
		ps.step(work, 0, first, cmd, events, Item{Action: ActionAddParty, Party: cmd.Name,
			Changes: added(map[string]any{"name": cmd.Name, "category": cmd.Category, "scope": cmd.Scope,
				"owner": cmd.Owner, "description": cmd.Description, "influence": cmd.Influence, "interest": cmd.Interest})})
		ps.planned[key] = cmd.PartyID
		ps.plan.Parties.Added++
	} else {
		work = clone(cur)
		cmd := domain.ReviseParty{Meta: ps.meta(first), PartyID: cur.ID, Name: &v.Name}
		if v.Category != "" {
			cmd.Category = &v.Category
		}
		if v.Scope != "" {
			cmd.Scope = &v.Scope
		}
		if t.Has[FieldPartyOwner] {
			cmd.Owner = &v.Owner
		}
		if t.Has[FieldPartyDescription] {
			cmd.Description = &v.Description
		}
		if v.Influence != 0 {
			cmd.Influence = &v.Influence
		}
		if v.Interest != 0 {
			cmd.Interest = &v.Interest
		}
		events, err := work.Revise(cmd, ps, ps.opts.Now)
		if ps.domainError(err, first, true) {
			return nil
		}
		if len(events) == 0 {
			ps.plan.Parties.Unchanged++
		} else {
			ps.step(work, cur.Version, first, cmd, events, Item{Action: ActionReviseParty, Party: work.Name,
				Changes: events[0].(domain.PartyRevised).Changes})
			ps.plan.Parties.Revised++
		}
	}
	ps.requirements(cur, work, rows)
	return nil
}

// mergeParty reads the party's values from its rows: the first non-blank
// value of each field wins, and a later row that says otherwise is an error.
func (ps *planState) mergeParty(rows []*Row) PartyValues {
	var v PartyValues
	from := map[Field]int{}
	take := func(r *Row, f Field, dst *string, val string) {
		if val == "" {
			return
		}
		if *dst == "" {
			*dst, from[f] = val, r.Line
		} else if *dst != val {
			ps.plan.Errors = append(ps.plan.Errors, ps.t.issueAt(r.Line, f, r.raw[f],
				fmt.Sprintf("says %q but row %d says %q for the same party", val, from[f], *dst)))
		}
	}
	takeInt := func(r *Row, f Field, dst *int, val int) {
		if val == 0 {
			return
		}
		if *dst == 0 {
			*dst, from[f] = val, r.Line
		} else if *dst != val {
			ps.plan.Errors = append(ps.plan.Errors, ps.t.issueAt(r.Line, f, r.raw[f],
				fmt.Sprintf("says %d but row %d says %d for the same party", val, from[f], *dst)))
		}
	}
	for _, r := range rows {
		if !r.Continued && v.Name == "" {
			v.Name = r.Party.Name
		}
		take(r, FieldCategory, &v.Category, r.Party.Category)
		take(r, FieldScope, &v.Scope, r.Party.Scope)
		take(r, FieldPartyOwner, &v.Owner, r.Party.Owner)
		take(r, FieldPartyDescription, &v.Description, r.Party.Description)
		takeInt(r, FieldInfluence, &v.Influence, r.Party.Influence)
		takeInt(r, FieldInterest, &v.Interest, r.Party.Interest)
	}
	if v.Name == "" {
		v.Name = rows[0].Party.Name
	}
	return v
}

// requirements plans the requirement rows of one party. cur is the party as
// the register has it (nil for a new one), work its planned state.
func (ps *planState) requirements(cur, work *domain.Party, rows []*Row) {
	t := ps.t
	byTitle := map[string]*domain.Requirement{}
	for _, id := range work.Order {
		if r := work.Requirements[id]; r.Status == domain.StatusActive {
			byTitle[domain.NormalizeName(r.Title)] = r
		}
	}
	seen := map[string]int{}
	version := int64(0)
	if cur != nil {
		version = cur.Version
	}
	today := ps.opts.Now.UTC().Format(domain.DateLayout)
	for _, row := range rows {
		if row.EffectiveOn > today {
			ps.plan.Errors = append(ps.plan.Errors, t.issueAt(row.Line, FieldEffectiveOn, row.raw[FieldEffectiveOn],
				"the effective date is in the future"))
		}
		q := row.Requirement
		if q == nil {
			continue
		}
		key := domain.NormalizeName(q.Title)
		if line, dup := seen[key]; dup {
			ps.plan.Errors = append(ps.plan.Errors, t.issueAt(row.Line, FieldTitle, row.raw[FieldTitle],
				fmt.Sprintf("this party already has this requirement on row %d", line)))
			continue
		}
		seen[key] = row.Line
		r := byTitle[key]
		if r == nil {
			cmd := domain.IdentifyRequirement{Meta: ps.meta(row), PartyID: work.ID,
				RequirementID: domain.RequirementID(ps.opts.NewID()), Kind: q.Kind, Title: q.Title,
				Description: q.Description, SourceType: q.SourceType, SourceRef: q.SourceRef, Owner: q.Owner,
				Priority: q.Priority, ReviewDue: q.ReviewDue, Addressed: q.Addressed, Rationale: q.Rationale,
				Treatment: q.Treatment, Controls: q.Controls}
			if cmd.Kind == "" {
				cmd.Kind = "requirement"
			}
			events, err := work.IdentifyRequirement(cmd, ps.opts.Now)
			if ps.domainError(err, row, false) {
				continue
			}
			e := events[0].(domain.RequirementIdentified)
			ps.step(work, version, row, cmd, events, Item{Action: ActionAddRequirement, Party: work.Name,
				Requirement: e.Title, Changes: added(map[string]any{"kind": e.Kind, "title": e.Title,
					"description": e.Description, "source_type": e.SourceType, "source_ref": e.SourceRef,
					"owner": e.Owner, "priority": e.Priority, "review_due": e.ReviewDue, "addressed": e.Addressed,
					"rationale": e.Rationale, "treatment": e.Treatment, "controls": e.Controls})})
			byTitle[key] = work.Requirements[cmd.RequirementID]
			ps.plan.Requirements.Added++
			continue
		}
		revised := false
		cmd := domain.ReviseRequirement{Meta: ps.meta(row), PartyID: work.ID, RequirementID: r.ID, Title: &q.Title}
		if q.Kind != "" {
			cmd.Kind = &q.Kind
		}
		if q.SourceType != "" {
			cmd.SourceType = &q.SourceType
		}
		if q.Priority != "" {
			cmd.Priority = &q.Priority
		}
		if t.Has[FieldDescription] {
			cmd.Description = &q.Description
		}
		if t.Has[FieldSourceRef] {
			cmd.SourceRef = &q.SourceRef
		}
		if t.Has[FieldOwner] {
			cmd.Owner = &q.Owner
		}
		if t.Has[FieldReviewDue] {
			cmd.ReviewDue = &q.ReviewDue
		}
		events, err := work.ReviseRequirement(cmd, ps.opts.Now)
		if ps.domainError(err, row, false) {
			continue
		}
		if len(events) > 0 {
			revised = true
			ps.step(work, version, row, cmd, events, Item{Action: ActionReviseRequirement, Party: work.Name,
				Requirement: r.Title, Changes: events[0].(domain.RequirementRevised).Changes})
		}
		if t.Has[FieldAddressed] || t.Has[FieldRationale] || t.Has[FieldTreatment] || t.Has[FieldControls] {
			r = work.Requirements[r.ID]
			dec := domain.DecideAddressing{Meta: ps.meta(row), PartyID: work.ID, RequirementID: r.ID,
				Addressed: r.Addressed, Rationale: r.Rationale, Treatment: r.Treatment, Controls: r.Controls}
			if t.Has[FieldAddressed] {
				dec.Addressed = q.Addressed
			}
			if t.Has[FieldRationale] {
				dec.Rationale = q.Rationale
			}
			if t.Has[FieldTreatment] {
				dec.Treatment = q.Treatment
			}
			if t.Has[FieldControls] {
				dec.Controls = q.Controls
			}
			events, err := work.DecideAddressing(dec, ps.opts.Now)
			if ps.domainError(err, row, false) {
				continue
			}
			if len(events) > 0 {
				revised = true
				ps.step(work, version, row, dec, events, Item{Action: ActionDecideAddressing, Party: work.Name,
					Requirement: r.Title, Changes: events[0].(domain.RequirementAddressingDecided).Changes})
			}
		}
		if revised {
			ps.plan.Requirements.Revised++
		} else {
			ps.plan.Requirements.Unchanged++
		}
	}
	if !ps.opts.RetireMissing || !t.Has[FieldTitle] || cur == nil || len(t.Errors) > 0 {
		return
	}
	for _, id := range cur.Order {
		r := cur.Requirements[id]
		if r.Status != domain.StatusActive {
			continue
		}
		if _, ok := seen[domain.NormalizeName(r.Title)]; ok {
			continue
		}
		cmd := domain.RetireRequirement{Meta: ps.meta(nil), PartyID: work.ID, RequirementID: r.ID}
		events, err := work.RetireRequirement(cmd, ps.opts.Now)
		if ps.domainError(err, nil, false) {
			continue
		}
		ps.step(work, version, nil, cmd, events, Item{Action: ActionRetireRequirement, Party: work.Name,
			Requirement: r.Title, Changes: events[0].(domain.RequirementRetired).Changes})
		ps.plan.Requirements.Retired++
	}
}

// added lists a new record's non-empty fields as changes from nothing.
func added(fields map[string]any) domain.Changes {
	ch := domain.Changes{}
	for k, v := range fields {
		switch x := v.(type) {
		case string:
			if x == "" {
				continue
			}
		case *string:
			if x == nil {
				continue
			}
			v = *x
		case *bool:
			if x == nil {
				continue
			}
			v = *x
		case []string:
			if len(x) == 0 {
				continue
			}
		}
		ch[k] = domain.Change{From: nil, To: v}
	}
	return ch
}

// clone copies a party deeply enough that applying events to the copy
// leaves the original alone.
func clone(p *domain.Party) *domain.Party {
	c := *p
	c.Requirements = make(map[domain.RequirementID]*domain.Requirement, len(p.Requirements))
	for id, r := range p.Requirements {
		rc := *r
		rc.Controls = slices.Clone(r.Controls)
		c.Requirements[id] = &rc
	}
	c.Order = slices.Clone(p.Order)
	c.Plan = maps.Clone(p.Plan)
	return &c
}
