package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/diagrams"
	"github.com/partyledger/partyledger/projections"
)

// Board is what makes the report a board paper rather than only evidence:
// an executive summary, the previous review's decisions and actions, the
// register as of the window's end and the grid drawn from it.
type Board struct {
	// Closed is true when the window ends at a fixed point (a review, a
	// position): the report then reads the register, the open items and the
	// actions as of that point, and is the same document whenever it is
	// generated (apart from the generated line).
	Closed bool
	// AsOf is the position the register annex and the open items are read
	// at: the window's end, or the head for an open window.
	AsOf int64
	// AsOfDate is the date open items are judged against for a closed
	// window (the date of its last event); "" for an open window.
	AsOfDate string
	// NetChanges is the number of net changes (the net view's count);
	// Report.Events is the detailed view's count.
	NetChanges int
	// Executive is the executive summary: a few sentences built from the
	// counts.
	Executive []string
	// Previous is the review that opened the window, with its decisions and
	// its actions as they stood at the window's end; nil when the window
	// does not start at a review.
	Previous *PreviousReview
	// Annex is the register as of AsOf: the active parties with their
	// active requirements, in register order.
	Annex []projections.PartyView
	// Evidence is the evidence appendix: the ids and log positions behind
	// every change, kept for the auditor out of the board's way.
	Evidence []Evidence
	// Map is the relationship map as of AsOf: the parties of the annex and
	// their relationships on the map then, with the relationships
	// established, revised or ended in the window marked. It is drawn by
	// the shared renderer ([diagrams.Map]); MapDrawn is false when the
	// read model gives no relationships ([RelationshipReads]).
	Map      diagrams.Map
	MapDrawn bool
	// ReviewRecords are the corrections and voids of management review
	// records made in the window (records.go).
	ReviewRecords []ReviewRecord
}

// RelationshipReads reads the relationships the map draws (implemented by
// *projections.ReadModel): as they stand, or as they stood at a position.
type RelationshipReads interface {
	Relationships(ctx context.Context, f projections.RelationshipFilter) ([]projections.RelationshipView, error)
	RelationshipsAsOf(ctx context.Context, at projections.AsOf, f projections.RelationshipFilter) ([]projections.RelationshipView, error)
}

// relationshipMap builds the map of the report: the annex's parties and the
// relationships on the map at AsOf (read as of that position for a closed
// window, so that the map is the same whenever the report is generated),
// with the window's relationship changes marked; ended ones stay drawn, as
// on the API's map since a review.
func (b *Builder) relationshipMap(ctx context.Context, rep *Report) error {
	rr, ok := b.Reads.(RelationshipReads)
	if !ok {
		return nil
	}
	var rels []projections.RelationshipView
	var err error
	if rep.Closed {
		rels, err = rr.RelationshipsAsOf(ctx, projections.AsOf{Position: rep.AsOf}, projections.RelationshipFilter{})
	} else {
		rels, err = rr.Relationships(ctx, projections.RelationshipFilter{})
	}
	if err != nil {
		return fmt.Errorf("report: relationships for the map: %w", err)
	}
	m := diagrams.Map{Title: fmt.Sprintf("Relationship map as of position %d", rep.AsOf), Since: "the window's start"}
	if rep.Since.Kind == projections.BoundReview {
		m.Since = "the previous review"
	}
	for _, p := range rep.Annex {
		m.Parties = append(m.Parties, diagramParty(p))
	}
	change := map[string]diagrams.Change{}
	var ended []diagrams.Relationship
	for _, it := range rep.Relationships {
		switch rel := it.Relationship; it.Change {
		case projections.ChangeRelationshipEstablished:
			change[rel.ID] = diagrams.Added
		case projections.ChangeRelationshipRevised:
			change[rel.ID] = diagrams.Changed
		case projections.ChangeRelationshipEnded:
			ended = append(ended, diagrams.Relationship{ID: rel.ID, From: rel.FromPartyID, To: rel.ToPartyID,
				Kind: rel.Kind, Label: rel.Label, Change: diagrams.Ended})
		}
	}
	for _, v := range rels {
		if v.Status != domain.StatusActive || !v.OnMap {
			continue
		}
		m.Relationships = append(m.Relationships, diagrams.Relationship{ID: v.ID, From: v.FromPartyID, To: v.ToPartyID,
			Kind: v.Kind, Label: v.Label, Change: change[v.ID]})
	}
	m.Relationships = append(m.Relationships, ended...)
	rep.Map, rep.MapDrawn = m, true
	return nil
}

// diagramParty is a party of the register as the diagrams draw it.
func diagramParty(p projections.PartyView) diagrams.Party {
	d := diagrams.Party{ID: p.ID, Name: p.Name, Category: p.Category, Scope: p.Scope,
		Influence: p.Influence, Interest: p.Interest}
	if p.ParentID != nil {
		d.ParentID = *p.ParentID
	}
	return d
}

// Evidence is one entry of the evidence appendix: a change (Ref, as the
// body names it) or a party, with its ids and the events behind it.
type Evidence struct {
	Ref     string // E1, E2, … for changes; "" for a party entry
	Subject string // the party's name, then the change as the body titles it
	IDs     string // party, requirement, objective and KPI ids
	Events  []projections.EventRef
}

// PreviousReview is the review a window starts at, as the next review
// reads it.
type PreviousReview struct {
	Review  projections.ReviewView
	Actions []projections.ActionView // with status and overdue as of the window's end
}

// AsOfReads reads the register at a past position (implemented by
// *projections.ReadModel). Without it a report reads the current register.
type AsOfReads interface {
	RegisterAsOf(ctx context.Context, at projections.AsOf, f projections.PartyFilter) ([]projections.PartyView, error)
}

// LogReader reads events by position (implemented by every
// eventstore.Store). Without it the footer of a closed window names the
// head.
type LogReader interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)
}

// WindowEndReads reads what a closed window's report shows as it stood at
// the window's end (implemented by *projections.ReadModel): the reviews that
// bound the window, the organisation's name, and the position a time
// resolves to. Without it the report shows them as they stand, and a time
// window stays open.
type WindowEndReads interface {
	projections.ReviewAsOfReads
	OrgNameAsOf(ctx context.Context, position int64) (string, error)
	PositionAt(ctx context.Context, t time.Time) (int64, error)
}

// closeWindow decides whether the window is closed and, if so, ties the
// report to the window's last event: the footer names it, and open items are
// judged against its date.
//
// A window that ends at a review or a position is closed. One that ends at a
// time is closed once that time has passed at generation: the time then
// resolves to a fixed position, the last event recorded at or before it
// ([projections.ReadModel.PositionAt]), so that events appended later never
// enter the window. A time not yet past leaves the window open: it ends at
// the head read at generation, like until=now.
func (b *Builder) closeWindow(ctx context.Context, rep *Report, w *projections.Window) error {
	rep.AsOf = rep.Integrity.HeadPosition
	if rep.Until.Kind == projections.BoundNow || (w.Until == 0 && w.UntilTime.IsZero()) {
		return nil
	}
	var endDate string
	if !w.UntilTime.IsZero() {
		wr, ok := b.Reads.(WindowEndReads)
		if !w.UntilTime.Before(rep.GeneratedAt) || !ok {
			w.Until = rep.Integrity.HeadPosition
			if w.Until == 0 {
				w.Until = -1 // an empty log
			}
			return nil
		}
		p, err := wr.PositionAt(ctx, w.UntilTime)
		if err != nil {
			return fmt.Errorf("report: position at %s: %w", w.UntilTime.Format(time.RFC3339Nano), err)
		}
		w.Until, rep.Until.Position, endDate = p, p, w.UntilTime.Format(domain.DateLayout)
		if p == 0 {
			w.Until = -1 // nothing was recorded by then
		}
	}
	lr, ok := b.Log.(LogReader)
	if !ok {
		return nil
	}
	end := max(w.Until, 0)
	rep.Closed, rep.AsOf = true, end
	rep.Integrity = Integrity{WindowEnd: true, HeadPosition: end}
	if end == 0 {
		rep.AsOfDate = cmp.Or(endDate, rep.GeneratedAt.UTC().Format(domain.DateLayout))
		return nil
	}
	evs, err := lr.ReadAll(ctx, end-1, 1)
	if err != nil {
		return fmt.Errorf("report: event at position %d: %w", end, err)
	}
	if len(evs) == 0 || evs[0].Position != end {
		return domain.Errorf(domain.EINVALID, "the window ends at position %d, after the last event of the log", end)
	}
	rep.Integrity.HeadHash = evs[0].Hash
	rep.AsOfDate = evs[0].Time.UTC().Format(domain.DateLayout)
	return nil
}

// asOfWindowEnd reads, for a closed window, the reviews that bound it and
// the organisation's name as they stood at the window's end: a correction,
// a void or a rename recorded later shows in the reports of the windows that
// contain it, never in this one. For an open window they are read as they
// stand. A name given to the Builder (Organisation) overrides the stored
// one either way.
func (b *Builder) asOfWindowEnd(ctx context.Context, rep *Report) error {
	wr, ok := b.Reads.(WindowEndReads)
	closed := ok && rep.Closed
	if closed && rep.Until.Kind == projections.BoundTime {
		// ResolveWindow did it already for a window that ends at a review
		// or a position; a time window closes here.
		if err := projections.BoundsAsOf(ctx, wr, rep.AsOf, &rep.Since, &rep.Until); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if rep.Organisation != "" {
		return nil
	}
	switch sr, ok := b.Reads.(SettingsReads); {
	case closed:
		name, err := wr.OrgNameAsOf(ctx, rep.AsOf)
		if err != nil {
			return fmt.Errorf("report: settings: %w", err)
		}
		rep.Organisation = name
	case ok:
		st, err := sr.Settings(ctx)
		if err != nil {
			return fmt.Errorf("report: settings: %w", err)
		}
		rep.Organisation = st.OrgName
	}
	if rep.Organisation == "" {
		rep.Organisation = DefaultOrganisation
	}
	return nil
}

// register reads every party (retired ones included) as of the report's
// AsOf for a closed window, else as it stands.
func (b *Builder) register(ctx context.Context, rep *Report) ([]projections.PartyView, error) {
	f := projections.PartyFilter{Status: projections.StatusAll}
	if ar, ok := b.Reads.(AsOfReads); ok && rep.Closed {
		return ar.RegisterAsOf(ctx, projections.AsOf{Position: rep.AsOf}, f)
	}
	return b.Reads.Register(ctx, f)
}

// annex keeps the active parties of the register.
func annex(all []projections.PartyView) []projections.PartyView {
	var out []projections.PartyView
	for _, p := range all {
		if p.Status == domain.StatusActive {
			out = append(out, p)
		}
	}
	return out
}

// previous returns the review the window starts at with its actions as of
// the window's end.
func previous(rep *Report) *PreviousReview {
	if rep.Since.Review == nil {
		return nil
	}
	pr := &PreviousReview{Review: *rep.Since.Review}
	for _, a := range rep.Since.Review.Actions {
		pr.Actions = append(pr.Actions, a.AsOf(rep.AsOf, rep.Today()))
	}
	return pr
}

// executiveSummary builds a few plain sentences from the counts.
func executiveSummary(r *Report) []string {
	s := r.Summary
	if r.NoChanges() {
		return []string{"Nothing changed in the register of interested parties in this window."}
	}
	var out []string
	var what []string
	if n := s.Parties.Added; n > 0 {
		what = append(what, plural(n, "new interested party", "new interested parties"))
	}
	if n := s.Requirements.Added; n > 0 {
		what = append(what, plural(n, "new requirement", "new requirements"))
	}
	if n := s.Expectations.Added; n > 0 {
		what = append(what, plural(n, "new expectation", "new expectations"))
	}
	if n := s.Parties.Revised + s.Requirements.Revised + s.Expectations.Revised; n > 0 {
		what = append(what, plural(n, "revision", "revisions"))
	}
	if n := s.Parties.Retired + s.Requirements.Retired + s.Expectations.Retired; n > 0 {
		what = append(what, plural(n, "retirement", "retirements"))
	}
	if len(what) > 0 {
		out = append(out, "Since the window's start the register records "+joinAnd(what)+".")
	}
	if n := s.Addressing.Total(); n > 0 {
		out = append(out, fmt.Sprintf("%s on whether requirements are addressed through the ISMS (clause 4.2 c) %s made or changed.",
			capitalise(plural(n, "decision", "decisions")), isAre(n, "was", "were")))
	}
	if c := s.Relationships; c.Added+c.Revised+c.Retired > 0 {
		var what []string
		if c.Added > 0 {
			what = append(what, fmt.Sprintf("%d established", c.Added))
		}
		if c.Revised > 0 {
			what = append(what, fmt.Sprintf("%d revised", c.Revised))
		}
		if c.Retired > 0 {
			what = append(what, fmt.Sprintf("%d ended", c.Retired))
		}
		out = append(out, "Relationships between parties: "+joinAnd(what)+".")
	}
	if s.Objectives > 0 || s.Communications > 0 {
		out = append(out, fmt.Sprintf("Objectives and KPIs changed: %d; communications planned or sent: %d.", s.Objectives, s.Communications))
	}
	if n := len(r.Undecided) + len(r.PastDue); n > 0 {
		out = append(out, fmt.Sprintf("At the window's end %s not yet decided and %d past the review date.",
			plural(len(r.Undecided), "requirement or expectation was", "requirements or expectations were"), len(r.PastDue)))
	}
	if p := r.Previous; p != nil {
		open, overdue := 0, 0
		for _, a := range p.Actions {
			if a.Status == domain.ActionOpen {
				open++
				if a.Overdue {
					overdue++
				}
			}
		}
		if len(p.Actions) > 0 {
			out = append(out, fmt.Sprintf("Of the %s decided at the previous review, %d %s open (%d overdue).",
				plural(len(p.Actions), "action", "actions"), open, isAre(open, "is", "are"), overdue))
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func isAre(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func joinAnd(l []string) string {
	if len(l) <= 1 {
		return strings.Join(l, "")
	}
	return strings.Join(l[:len(l)-1], ", ") + " and " + l[len(l)-1]
}

// Quadrant is the power–interest grid's advice for a party, as the shared
// renderer places it ([diagrams.Quadrant]).
func Quadrant(influence, interest int) string { return diagrams.Quadrant(influence, interest) }

// sortedByName returns the parties ordered by name.
func sortedByName(ps []projections.PartyView) []projections.PartyView {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b projections.PartyView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// actionStatus says how an action stood at the window's end.
func actionStatus(a projections.ActionView) string {
	switch {
	case a.Overdue:
		return "open, overdue"
	case a.Status == domain.ActionDone:
		return "done"
	case a.Status == domain.ActionCancelled:
		return "cancelled: " + orDash(a.Reason)
	}
	return a.Status
}

// requirementTitles lists a party's requirements and expectations.
func requirementTitles(p projections.PartyView) string {
	var l []string
	for _, q := range p.Requirements {
		l = append(l, q.Title)
	}
	return strings.Join(l, "; ")
}

// evidence numbers the changes (Item.Ref) and lists, for each party and
// change, its ids and the events behind it.
func evidence(r *Report) []Evidence {
	var out []Evidence
	n := 0
	number := func(items []Item, party string) {
		for i := range items {
			n++
			it := &items[i]
			it.Ref = fmt.Sprintf("E%d", n)
			subject := ChangeLabel(*it)
			if s := it.Subject(); s != "" {
				subject += ": " + s
			}
			if party != "" {
				subject = party + " · " + subject
			}
			out = append(out, Evidence{Ref: it.Ref, Subject: subject, IDs: strings.ReplaceAll(itemID(*it), "`", ""), Events: it.Events})
		}
	}
	for _, g := range [][]PartyChanges{r.Internal, r.External} {
		for i := range g {
			pc := &g[i]
			out = append(out, Evidence{Subject: pc.Party.Name, IDs: "party " + pc.Party.ID})
			number(pc.Items, pc.Party.Name)
		}
	}
	number(r.Objectives, "")
	number(r.Relationships, "")
	for _, rp := range r.Retired {
		ids := "party " + rp.Party.ID
		for _, q := range rp.Requirements {
			ids += " · requirement " + q.ID
		}
		out = append(out, Evidence{Subject: rp.Party.Name + " (retired, open requirements)", IDs: ids})
	}
	return out
}

// EventList renders the log positions of events for the appendix (the
// event ids are in the CSV and XLSX event_ids column).
func EventList(evs []projections.EventRef) string {
	return Positions(eventPositions(evs))
}
