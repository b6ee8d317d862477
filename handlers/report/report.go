// Package report builds the management review change report: the evidence
// for ISO/IEC 27001:2022 clause 9.3.2 c), "changes in needs and expectations
// of interested parties relevant to the ISMS", computed from the event log
// through the read model.
//
// # Model and renderers
//
// [Builder.Build] reads a window of the change feed (the same since/until
// expressions as GET /api/v1/changes, see [projections.ResolveWindow]), the
// register and the log head, and returns a [Report]: summary counts, the
// net changes per party (internal parties first) with the events behind
// every field, the loose ends of the register (requirements not yet decided
// on clause 4.2 c), past their review date, or left open on retired parties)
// and an integrity footer that ties the report to the log. [Render] writes a
// report as Markdown, HTML, PDF, CSV or XLSX ([Format]).
//
// A window with no changes is not an error: the report says so.
//
// # Dependencies
//
// The package declares the narrow interfaces it reads through ([Reads],
// [Log], and the optional [Checkpointer]); *projections.ReadModel and the
// event stores implement them.
package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// DefaultOrganisation is the organisation name a report shows when none is
// configured.
const DefaultOrganisation = "Our organisation"

// Title is the title of every change report.
const Title = "Changes in needs and expectations of interested parties"

// DefaultCatchUp is how long [Builder.Build] waits by default for the read
// model to apply the log up to its head.
const DefaultCatchUp = 30 * time.Second

// Reads is what the report reads from the read model (implemented by
// *projections.ReadModel).
type Reads interface {
	projections.WindowReads
	Changes(ctx context.Context, w projections.Window) ([]projections.ChangeItem, error)
	Register(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
	WaitFor(ctx context.Context, position int64) error
}

// SettingsReads gives the stored settings (implemented by
// *projections.ReadModel); a [Reads] that offers it names the organisation.
type SettingsReads interface {
	Settings(ctx context.Context) (projections.SettingsView, error)
}

// Log reports the head of the event log (implemented by every
// eventstore.Store).
type Log interface {
	Head(ctx context.Context) (position int64, hash string, err error)
}

// Checkpointer gives the latest signed checkpoint of the log, as text that a
// reader can verify on its own (implemented by the audit feature). It
// returns "" when no checkpoint has been signed yet.
type Checkpointer interface {
	LatestCheckpoint(ctx context.Context) (string, error)
}

// Builder builds reports. Set Reads and Log; the other fields are optional.
// A Builder is safe for concurrent use when its dependencies are.
type Builder struct {
	Reads Reads
	Log   Log
	// Checkpoints, when not nil, adds the latest signed checkpoint to the
	// integrity footer.
	Checkpoints Checkpointer
	// Organisation overrides the name on the report. When empty, the
	// stored setting is used when Reads offers it ([SettingsReads]), else
	// [DefaultOrganisation].
	Organisation string
	// Now is the generation time; the review dates of requirements are
	// compared with its date (UTC). Defaults to time.Now.
	Now func() time.Time
	// CatchUp bounds the wait for the read model to apply the log up to its
	// head ([DefaultCatchUp] when zero).
	CatchUp time.Duration
}

// Request says which report to build.
type Request struct {
	Since       string // since expression; "" = last-review
	Until       string // until expression; "" = now
	GeneratedBy string // who asks: the token name, or the CLI user
}

// Report is the management review change report. Renderers only read it.
type Report struct {
	Title        string
	Organisation string
	Since, Until projections.Bound
	GeneratedAt  time.Time
	GeneratedBy  string
	Events       int // feed events in the window

	Summary Summary
	// Internal and External hold the net changes per party, each group
	// ordered by party name. Parties of unknown scope go with External.
	Internal, External []PartyChanges
	// Objectives holds the net changes of objectives and KPIs (clause 6.2)
	// and any other item about no party, in order of first appearance.
	Objectives []Item
	// Relationships holds the net changes of relationships between parties
	// (established, revised, ended), ordered by the names of their ends.
	Relationships []Item

	Undecided []OpenRequirement // active requirements not yet decided on clause 4.2 c)
	PastDue   []OpenRequirement // active requirements whose review date is before GeneratedAt's date
	Retired   []RetiredParty    // retired parties that still have active requirements
	// ReminderFailures are the owners whose last reminder digest in the
	// window failed with none sent after it (reminders.go).
	ReminderFailures []projections.ReminderView

	Integrity Integrity

	Board // the board-ready parts (board.go)

	names map[string]string // party id -> name, to show parent_id
}

// NoChanges reports whether nothing changed in the window.
func (r *Report) NoChanges() bool { return r.Events == 0 }

// Today is the report's date (UTC), the one review dates are compared with:
// the generation date, or for a closed window the date of its last event.
func (r *Report) Today() string {
	if r.AsOfDate != "" {
		return r.AsOfDate
	}
	return r.GeneratedAt.UTC().Format(domain.DateLayout)
}

// Summary counts the changes in the window.
type Summary struct {
	Parties, Requirements, Expectations Counts
	Addressing                          AddressingCounts
	Relationships                       Counts         // relationships established (Added), revised, ended (Retired)
	Objectives                          int            // objectives and KPIs changed (net items, clause 6.2)
	Communications                      int            // communications planned or sent (clause 7.4)
	ByTrigger                           []TriggerCount // triggers with at least one event, in domain order
}

// Counts counts net changes of one kind of item: an item added and retired
// in the window counts as added and as retired; an item added and then
// revised counts as added only. Reviewed counts the requirements (or
// expectations) whose periodic review was recorded.
type Counts struct {
	Added, Revised, Retired, Reviewed int
}

// AddressingCounts counts the events that made or changed a clause 4.2 c)
// decision ("is this requirement addressed through the ISMS?").
type AddressingCounts struct {
	UndecidedToAddressed    int // not yet decided -> addressed
	UndecidedToNotAddressed int // not yet decided -> not addressed
	AddressedToNotAddressed int
	NotAddressedToAddressed int
	Reopened                int // addressed or not addressed -> not yet decided
	Reworded                int // same outcome; rationale, treatment or controls changed
}

// Total is the number of events that made or changed a decision.
func (a AddressingCounts) Total() int {
	return a.UndecidedToAddressed + a.UndecidedToNotAddressed + a.AddressedToNotAddressed +
		a.NotAddressedToAddressed + a.Reopened + a.Reworded
}

// Row is one labelled count, for renderers.
type Row struct {
	Label string
	N     int
}

// Rows lists the addressing counts with their labels, in a fixed order.
func (a AddressingCounts) Rows() []Row {
	return []Row{
		{"not yet decided → addressed", a.UndecidedToAddressed},
		{"not yet decided → not addressed", a.UndecidedToNotAddressed},
		{"addressed → not addressed", a.AddressedToNotAddressed},
		{"not addressed → addressed", a.NotAddressedToAddressed},
		{"decided → not yet decided (reopened)", a.Reopened},
		{"same outcome, rationale, treatment or controls changed", a.Reworded},
	}
}

// TriggerCount is the number of net changes in the window whose last event
// had one trigger.
type TriggerCount struct {
	Trigger string // as stored, e.g. regulatory_change
	Events  int    // net changes, not events (the name is kept for the renderers)
}

// Label is the trigger as people read it.
func (t TriggerCount) Label() string { return Label(t.Trigger) }

// PartyChanges is everything that changed about one party in the window.
type PartyChanges struct {
	Party projections.PartyRef // as last seen in the window
	Items []Item               // the party's own changes first, then its requirements'
}

// Item is the net change over the window of a party (Requirement and
// Objective nil), of one of its requirements, of a review of a requirement,
// of a communication with the party, or of an objective or KPI (Objective
// set, no party).
type Item struct {
	Ref          string               // its evidence reference ("E1", "E2", …) in the evidence appendix
	Party        projections.PartyRef // the party it is about (a relationship's "from" party); zero for objectives
	Requirement  *projections.RequirementRef
	Objective    *projections.ObjectiveRef
	Relationship *projections.RelationshipRef // set for relationship items, as last seen in the window
	Change       string                       // a projections.Change* kind of the net view
	Fields       []FieldChange                // in display order
	Events       []projections.EventRef
	// Details are the feed items of the window behind this net change (the
	// detailed view), one per event, in log order.
	Details []projections.ChangeItem
}

// FieldChange is one field's net change, with the positions of the events
// in the window that changed it.
type FieldChange struct {
	Field     string
	From, To  any
	Positions []int64
}

// OpenRequirement is an active requirement of the register as it stands
// at generation time.
type OpenRequirement struct {
	Party       projections.PartyRef
	Requirement projections.RequirementView
	// Reminded is how often a reminder digest named it in the window.
	Reminded projections.Reminded
}

// RetiredParty is a retired party with its requirements still active.
type RetiredParty struct {
	Party        projections.PartyRef
	RetiredAt    time.Time // when the party last changed: its retirement
	Requirements []projections.RequirementView
}

// Integrity ties the report to the log.
type Integrity struct {
	// HeadPosition and HeadHash name the last event of the log at
	// generation, or, for a closed window (WindowEnd), the window's last
	// event: a report of a closed window names the same event whenever it
	// is generated.
	HeadPosition int64
	HeadHash     string
	WindowEnd    bool
	Checkpoint   string // the latest signed checkpoint ("" when none, not available, or a closed window)
}

// Label says which event HeadPosition names, and for an open window (until
// now, or a time not yet past at generation) that the report is not
// reproducible: generated again later, it reads a later head.
func (in Integrity) Label() string {
	if in.WindowEnd {
		return "Last event of the window"
	}
	return "Log head at generation (open window — not reproducible)"
}

// Build reads the window, the register and the log head and returns the
// report. It waits (at most CatchUp) for the read model to apply the log up
// to the head it read, so that the report shows the log up to that
// position; until=now is that head.
//
// It returns EINVALID for a malformed since or until, ENOTFOUND for an
// unknown review, and the read model's or the log's error otherwise.
func (b *Builder) Build(ctx context.Context, req Request) (*Report, error) {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	rep := &Report{Title: Title, Organisation: strings.TrimSpace(b.Organisation), GeneratedAt: now().UTC(),
		GeneratedBy: req.GeneratedBy, names: map[string]string{}}

	head, hash, err := b.Log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("report: log head: %w", err)
	}
	rep.Integrity = Integrity{HeadPosition: head, HeadHash: hash}
	wait := b.CatchUp
	if wait <= 0 {
		wait = DefaultCatchUp
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	err = b.Reads.WaitFor(wctx, head)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("report: read model catching up: %w", err)
	}
	if b.Checkpoints != nil {
		if rep.Integrity.Checkpoint, err = b.Checkpoints.LatestCheckpoint(ctx); err != nil {
			return nil, fmt.Errorf("report: latest checkpoint: %w", err)
		}
	}

	w, since, until, err := projections.ResolveWindow(ctx, b.Reads, req.Since, req.Until)
	if err != nil {
		return nil, err
	}
	if until.Kind == projections.BoundNow {
		// The read model may have moved on since Head; "now" is the head
		// the footer names.
		w.Until, until.Position = head, head
		if head == 0 {
			w.Until = -1
		}
	}
	rep.Since, rep.Until = since, until
	if err := b.closeWindow(ctx, rep, &w); err != nil {
		return nil, err
	}
	if err := b.asOfWindowEnd(ctx, rep); err != nil {
		return nil, err
	}
	if err := b.reviewRecords(ctx, rep, w); err != nil {
		return nil, err
	}

	var items []projections.ChangeItem
	if w.Until >= 0 {
		if items, err = b.Reads.Changes(ctx, w); err != nil {
			return nil, err
		}
	}
	all, err := b.register(ctx, rep)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		rep.names[p.ID] = p.Name
	}
	rep.Events = len(items)
	net := projections.NetChanges(items)
	rep.Summary = summarise(items, net)
	rep.Internal, rep.External, rep.Objectives, rep.Relationships = partyChanges(items, net)
	rep.Undecided, rep.PastDue, rep.Retired = openItems(all, rep.Today())
	if err := b.remindedLoose(ctx, rep, w); err != nil {
		return nil, err
	}
	rep.NetChanges = len(net)
	rep.Annex = annex(all)
	rep.Previous = previous(rep)
	rep.Executive = executiveSummary(rep)
	rep.Evidence = evidence(rep)
	if err := b.relationshipMap(ctx, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// summarise counts the window's changes: net items by their kind,
// addressing decisions and triggers by event.
func summarise(items []projections.ChangeItem, net []projections.NetItem) Summary {
	var s Summary
	for _, n := range net {
		if n.Relationship != nil {
			countRelationship(&s.Relationships, n.Change)
			continue
		}
		c := &s.Parties
		if n.Requirement != nil {
			c = &s.Requirements
			if n.Requirement.Kind == "expectation" {
				c = &s.Expectations
			}
		}
		switch {
		case n.Objective != nil:
			s.Objectives++
			continue
		case isCommunication(n.Change):
			s.Communications++
			continue
		}
		switch n.Change {
		case projections.ChangePartyAdded, projections.ChangeRequirementAdded:
			c.Added++
		case projections.ChangePartyRevised, projections.ChangeRequirementRevised:
			c.Revised++
		case projections.ChangePartyRetired, projections.ChangeRequirementRetired:
			c.Retired++
		case projections.ChangePartyAddedAndRetired, projections.ChangeRequirementAddedAndRetired:
			c.Added++
			c.Retired++
		case projections.ChangeRequirementReviewed:
			c.Reviewed++
		}
	}
	// Triggers count net changes, like the rest of the summary: each by
	// the trigger of its last event, the one that left it as it stands.
	triggers := map[string]int{}
	for _, n := range net {
		if len(n.Events) > 0 {
			triggers[n.Events[len(n.Events)-1].Trigger]++
		}
	}
	for _, it := range items {
		if it.Requirement != nil {
			countAddressing(&s.Addressing, it)
		}
	}
	for _, t := range domain.Triggers {
		if n := triggers[t]; n > 0 {
			s.ByTrigger = append(s.ByTrigger, TriggerCount{Trigger: t, Events: n})
			delete(triggers, t)
		}
	}
	var rest []TriggerCount // triggers this code does not know (newer or older events)
	for t, n := range triggers {
		rest = append(rest, TriggerCount{Trigger: t, Events: n})
	}
	slices.SortFunc(rest, func(a, b TriggerCount) int { return strings.Compare(a.Trigger, b.Trigger) })
	s.ByTrigger = append(s.ByTrigger, rest...)
	return s
}

// countRelationship counts a relationship's net change: established as
// added, ended as retired.
func countRelationship(c *Counts, change string) {
	switch change {
	case projections.ChangeRelationshipEstablished:
		c.Added++
	case projections.ChangeRelationshipRevised:
		c.Revised++
	case projections.ChangeRelationshipEnded:
		c.Retired++
	case projections.ChangeRelationshipEstablishedAndEnded:
		c.Added++
		c.Retired++
	}
}

// countAddressing classifies one requirement event by what it did to the
// clause 4.2 c) decision.
func countAddressing(a *AddressingCounts, it projections.ChangeItem) {
	var addressed *projections.FieldChange
	other := false
	for i, fc := range it.Changes {
		switch fc.Field {
		case "addressed":
			addressed = &it.Changes[i]
		case "rationale", "treatment", "controls":
			other = true
		}
	}
	if addressed != nil {
		from, to := decision(addressed.From), decision(addressed.To)
		switch {
		case from == to:
			addressed = nil
		case from == "" && to == "yes":
			a.UndecidedToAddressed++
		case from == "" && to == "no":
			a.UndecidedToNotAddressed++
		case from == "yes" && to == "no":
			a.AddressedToNotAddressed++
		case from == "no" && to == "yes":
			a.NotAddressedToAddressed++
		default:
			a.Reopened++
		}
	}
	if addressed == nil && other && it.Change == projections.ChangeRequirementAddressingDecided {
		a.Reworded++
	}
}

// decision is "yes", "no" or "" (not yet decided) for a value of the
// addressed field.
func decision(v any) string {
	switch v {
	case true:
		return "yes"
	case false:
		return "no"
	}
	return ""
}

func isCommunication(change string) bool {
	return change == projections.ChangeCommunicationPlanned || change == projections.ChangeCommunicationSent
}

// itemKey is what the net view groups feed items by (see
// projections.NetChanges): a party, one of its requirements, the reviews of
// a requirement, one communication, an objective, a KPI or a relationship.
type itemKey struct{ party, req, other string }

func keyOf(p projections.PartyRef, r *projections.RequirementRef, o *projections.ObjectiveRef,
	rel *projections.RelationshipRef, change, eventID string) itemKey {
	switch {
	case rel != nil:
		return itemKey{other: "relationship:" + rel.ID}
	case o != nil && o.KPI != nil:
		return itemKey{other: "kpi:" + o.KPI.ID}
	case o != nil:
		return itemKey{other: "objective:" + o.ID}
	case isCommunication(change):
		return itemKey{party: p.ID, other: "communication:" + eventID}
	}
	k := itemKey{party: p.ID}
	if r != nil {
		k.req = r.ID
	}
	if change == projections.ChangeRequirementReviewed {
		k.other = "review"
	}
	return k
}

// partyChanges groups the net changes of items by party and attaches to
// every field the positions of the events that changed it, and to every net
// change the feed items behind it. Items about no party (objectives, KPIs)
// come back apart, in order, and so do relationships, ordered by the names
// of their ends.
func partyChanges(items []projections.ChangeItem, net []projections.NetItem) (internal, external []PartyChanges, other, rels []Item) {
	positions := map[itemKey]map[string][]int64{}
	details := map[itemKey][]projections.ChangeItem{}
	for _, it := range items {
		k := keyOf(it.Party, it.Requirement, it.Objective, it.Relationship, it.Change, it.EventID)
		details[k] = append(details[k], it)
		m := positions[k]
		if m == nil {
			m = map[string][]int64{}
			positions[k] = m
		}
		for _, fc := range it.Changes {
			m[fc.Field] = append(m[fc.Field], it.Position)
		}
	}
	byParty := map[string]*PartyChanges{}
	var order []string
	for _, n := range net {
		it := Item{Party: n.Party, Requirement: n.Requirement, Objective: n.Objective, Relationship: n.Relationship,
			Change: n.Change, Events: n.Events}
		added := n.Change == projections.ChangePartyAdded || n.Change == projections.ChangeRequirementAdded ||
			n.Change == projections.ChangePartyAddedAndRetired || n.Change == projections.ChangeRequirementAddedAndRetired ||
			n.Change == projections.ChangeObjectiveAdded || n.Change == projections.ChangeKPIDefined ||
			n.Change == projections.ChangeRelationshipEstablished || n.Change == projections.ChangeRelationshipEstablishedAndEnded
		eventID := ""
		if len(n.Events) > 0 {
			eventID = n.Events[0].EventID
		}
		k := keyOf(n.Party, n.Requirement, n.Objective, n.Relationship, n.Change, eventID)
		pos := positions[k]
		it.Details = details[k]
		for _, fc := range n.Changes {
			if added && fc.From == nil && isEmpty(fc.To) {
				continue // a field the new item was created without
			}
			it.Fields = append(it.Fields, FieldChange{Field: fc.Field, From: fc.From, To: fc.To, Positions: pos[fc.Field]})
		}
		if n.Relationship != nil {
			rels = append(rels, it)
			continue
		}
		if n.Objective != nil || n.Party.ID == "" {
			other = append(other, it)
			continue
		}
		pc := byParty[n.Party.ID]
		if pc == nil {
			pc = &PartyChanges{Party: n.Party}
			byParty[n.Party.ID] = pc
			order = append(order, n.Party.ID)
		}
		pc.Items = append(pc.Items, it)
	}
	for _, id := range order {
		pc := *byParty[id]
		// The party's own change leads; the rest keep their order.
		slices.SortStableFunc(pc.Items, func(a, b Item) int {
			return cmp.Compare(itemRank(a), itemRank(b))
		})
		if pc.Party.Scope == "internal" {
			internal = append(internal, pc)
		} else {
			external = append(external, pc)
		}
	}
	byName := func(a, b PartyChanges) int {
		return cmp.Or(strings.Compare(domain.NormalizeName(a.Party.Name), domain.NormalizeName(b.Party.Name)),
			strings.Compare(a.Party.ID, b.Party.ID))
	}
	slices.SortStableFunc(internal, byName)
	slices.SortStableFunc(external, byName)
	slices.SortStableFunc(rels, func(a, b Item) int {
		x, y := a.Relationship, b.Relationship
		return cmp.Or(strings.Compare(domain.NormalizeName(x.FromPartyName), domain.NormalizeName(y.FromPartyName)),
			strings.Compare(domain.NormalizeName(x.ToPartyName), domain.NormalizeName(y.ToPartyName)),
			cmp.Compare(slices.Index(domain.RelationshipKinds, x.Kind), slices.Index(domain.RelationshipKinds, y.Kind)),
			strings.Compare(x.ID, y.ID))
	})
	return internal, external, other, rels
}

// itemRank orders the items of a party: its own change first, then its
// requirements (and their reviews), then communications.
func itemRank(it Item) int {
	switch {
	case it.Requirement == nil && !isCommunication(it.Change):
		return 0
	case isCommunication(it.Change):
		return 2
	}
	return 1
}

func isEmpty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []string:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// openItems picks the loose ends of the register: active requirements of
// active parties not yet decided or past their review date (before today),
// and retired parties that still have active requirements. all is the
// register with every party, in register order.
func openItems(all []projections.PartyView, today string) (undecided, pastDue []OpenRequirement, retired []RetiredParty) {
	for _, p := range all {
		ref := projections.PartyRef{ID: p.ID, Name: p.Name, Scope: p.Scope, Category: p.Category}
		if p.Status == domain.StatusRetired {
			if len(p.Requirements) > 0 {
				retired = append(retired, RetiredParty{Party: ref, RetiredAt: p.UpdatedAt, Requirements: p.Requirements})
			}
			continue
		}
		for _, r := range p.Requirements {
			if r.Addressed == nil {
				undecided = append(undecided, OpenRequirement{Party: ref, Requirement: r})
			}
			if r.ReviewDue != nil && *r.ReviewDue != "" && *r.ReviewDue < today {
				pastDue = append(pastDue, OpenRequirement{Party: ref, Requirement: r})
			}
		}
	}
	slices.SortStableFunc(pastDue, func(a, b OpenRequirement) int {
		return strings.Compare(*a.Requirement.ReviewDue, *b.Requirement.ReviewDue)
	})
	return undecided, pastDue, retired
}
