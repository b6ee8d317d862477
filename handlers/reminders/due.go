package reminders

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// Kinds of due items. They are stored in reminder events: never rename one.
const (
	KindReviewDue        = "review_due"          // a requirement's periodic review (review_due)
	KindCommunicationDue = "communication_due"   // a planned communication (7.4)
	KindMeasurementDue   = "kpi_measurement_due" // a KPI measurement (6.2)
	KindActionDue        = "action_due"          // a management-review action (9.3.3)
	KindUndecided        = "undecided"           // a requirement undecided for too long (4.2 c)
)

// DefaultUndecidedAfter is how long a requirement may stay undecided before
// its owner is reminded.
const DefaultUndecidedAfter = 30 * 24 * time.Hour

// Item is one thing an owner should do. Link is its page in the console,
// relative to the server's root.
type Item struct {
	Kind    string `json:"kind"`
	ID      string `json:"id"`
	Title   string `json:"title"`
	Party   string `json:"party,omitempty"` // the party's name, when the item belongs to one
	Due     string `json:"due"`             // YYYY-MM-DD
	Overdue bool   `json:"overdue"`         // due before today
	Link    string `json:"link"`
}

// OwnerItems is everything due for one owner.
type OwnerItems struct {
	Owner  string   `json:"owner"`
	Emails []string `json:"emails"`
	Items  []Item   `json:"items"`
}

// Sources is what the planner reads from the register (implemented by
// *projections.ReadModel).
type Sources interface {
	ReviewsDue(ctx context.Context, today, until string) ([]projections.OwnerReviews, error)
	OverdueCommunications(ctx context.Context, partyID, today string) ([]projections.PlanEntryView, error)
	Objectives(ctx context.Context, f projections.ObjectiveFilter) ([]projections.ObjectiveView, error)
	Register(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
}

// OpenAction is a management-review action (clause 9.3.3) that is not yet
// completed.
type OpenAction struct {
	ID       string
	ReviewID string
	Title    string
	Owner    string
	DueOn    string // YYYY-MM-DD
}

// Actions lists open management-review actions with an owner and a due
// date. The review lifecycle (management-review actions as an aggregate)
// implements it; nil leaves actions out of the digests.
//
// TODO(integrator, i15-review): wire an adapter over the actions read model
// in cmd/partyledger/reminders.go (see actionsSource there).
type Actions interface {
	OpenActions(ctx context.Context) ([]OpenAction, error)
}

// Planner works out what is due per owner. It is safe for concurrent use.
type Planner struct {
	Sources Sources
	Actions Actions // nil: no management-review actions yet
	// Within is how far ahead an item counts as due; 0 means items due
	// today or before.
	Within time.Duration
	// UndecidedAfter is how long a requirement may stay undecided; 0 means
	// [DefaultUndecidedAfter].
	UndecidedAfter time.Duration
}

// Due returns, per owner (in name order; owner "" left out, as nobody can
// be reminded), the items due on the local date of now in loc, or within
// Within after it. A non-empty owner keeps only that owner (compared as
// [domain.OwnerKey]).
func (p *Planner) Due(ctx context.Context, now time.Time, loc *time.Location, owner string) ([]OwnerItems, error) {
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	today := local.Format(domain.DateLayout)
	horizon := local.Add(p.Within).Format(domain.DateLayout)
	byOwner := map[string]*OwnerItems{}
	add := func(o string, it Item) {
		if strings.TrimSpace(o) == "" || (owner != "" && domain.OwnerKey(o) != domain.OwnerKey(owner)) {
			return
		}
		k := domain.OwnerKey(o)
		g := byOwner[k]
		if g == nil {
			g = &OwnerItems{Owner: strings.TrimSpace(o), Emails: []string{}}
			byOwner[k] = g
		}
		it.Overdue = it.Due < today
		g.Items = append(g.Items, it)
	}

	reviews, err := p.Sources.ReviewsDue(ctx, today, horizon)
	if err != nil {
		return nil, fmt.Errorf("reminders: reviews due: %w", err)
	}
	for _, g := range reviews {
		for _, r := range g.Reviews {
			add(r.Owner, Item{Kind: KindReviewDue, ID: r.Requirement.ID, Title: r.Requirement.Title,
				Party: r.Party.Name, Due: r.ReviewDue, Link: "/parties/" + r.Party.ID + "#requirement-" + r.Requirement.ID})
		}
	}

	// OverdueCommunications keeps entries due before its "today": the day
	// after the horizon keeps those due up to the horizon.
	dayAfter, _ := time.Parse(domain.DateLayout, horizon)
	comms, err := p.Sources.OverdueCommunications(ctx, "", dayAfter.AddDate(0, 0, 1).Format(domain.DateLayout))
	if err != nil {
		return nil, fmt.Errorf("reminders: communications due: %w", err)
	}
	for _, c := range comms {
		add(c.Communicator, Item{Kind: KindCommunicationDue, ID: c.ID, Title: c.Topic, Party: c.Party.Name,
			Due: *c.NextDue, Link: "/parties/" + c.Party.ID + "#plan-" + c.ID})
	}

	objs, err := p.Sources.Objectives(ctx, projections.ObjectiveFilter{})
	if err != nil {
		return nil, fmt.Errorf("reminders: objectives: %w", err)
	}
	for _, o := range objs {
		if o.Status == "achieved" || o.Status == "abandoned" {
			continue
		}
		for _, k := range o.KPIs {
			if k.Frequency == "" {
				continue
			}
			from := k.CreatedAt.In(loc).Format(domain.DateLayout)
			if k.Latest != nil && len(k.Latest.MeasuredAt) >= len(domain.DateLayout) {
				from = k.Latest.MeasuredAt[:len(domain.DateLayout)]
			}
			next, ok := domain.NextDue(from, k.Frequency)
			if !ok || next > horizon {
				continue
			}
			add(o.Owner, Item{Kind: KindMeasurementDue, ID: k.ID, Title: k.Name + " (" + o.Title + ")",
				Due: next, Link: "/objectives/" + o.ID + "#kpi-" + k.ID})
		}
	}

	if p.Actions != nil {
		acts, err := p.Actions.OpenActions(ctx)
		if err != nil {
			return nil, fmt.Errorf("reminders: management-review actions: %w", err)
		}
		for _, a := range acts {
			if a.DueOn == "" || a.DueOn > horizon {
				continue
			}
			add(a.Owner, Item{Kind: KindActionDue, ID: a.ID, Title: a.Title, Due: a.DueOn,
				Link: "/management-reviews/" + a.ReviewID + "#action-" + a.ID})
		}
	}

	after := p.UndecidedAfter
	if after <= 0 {
		after = DefaultUndecidedAfter
	}
	parties, err := p.Sources.Register(ctx, projections.PartyFilter{})
	if err != nil {
		return nil, fmt.Errorf("reminders: register: %w", err)
	}
	for _, pv := range parties {
		for _, r := range pv.Requirements {
			if r.Addressed != nil || r.Status != domain.StatusActive {
				continue
			}
			due := r.CreatedAt.Add(after).In(loc).Format(domain.DateLayout)
			if due > horizon {
				continue
			}
			add(r.Owner, Item{Kind: KindUndecided, ID: r.ID, Title: r.Title, Party: pv.Name, Due: due,
				Link: "/parties/" + pv.ID + "#requirement-" + r.ID})
		}
	}

	out := make([]OwnerItems, 0, len(byOwner))
	for _, g := range byOwner {
		slices.SortStableFunc(g.Items, func(a, b Item) int {
			if c := strings.Compare(a.Due, b.Due); c != 0 {
				return c
			}
			if c := strings.Compare(a.Kind, b.Kind); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b OwnerItems) int { return strings.Compare(strings.ToLower(a.Owner), strings.ToLower(b.Owner)) })
	return out, nil
}

// OwnerNames returns every owner name the register uses: of parties,
// requirements, objectives and communication plan entries (the latter
// through the due communications only).
func OwnerNames(ctx context.Context, s Sources, actions Actions) ([]string, error) {
	seen := map[string]string{}
	add := func(n string) {
		if n = strings.TrimSpace(n); n != "" {
			if _, ok := seen[domain.OwnerKey(n)]; !ok {
				seen[domain.OwnerKey(n)] = n
			}
		}
	}
	parties, err := s.Register(ctx, projections.PartyFilter{})
	if err != nil {
		return nil, fmt.Errorf("reminders: register: %w", err)
	}
	for _, p := range parties {
		add(p.Owner)
		for _, r := range p.Requirements {
			add(r.Owner)
		}
	}
	objs, err := s.Objectives(ctx, projections.ObjectiveFilter{})
	if err != nil {
		return nil, fmt.Errorf("reminders: objectives: %w", err)
	}
	for _, o := range objs {
		add(o.Owner)
	}
	comms, err := s.OverdueCommunications(ctx, "", "9999-12-31")
	if err != nil {
		return nil, fmt.Errorf("reminders: communications: %w", err)
	}
	for _, c := range comms {
		add(c.Communicator)
	}
	if actions != nil {
		acts, err := actions.OpenActions(ctx)
		if err != nil {
			return nil, fmt.Errorf("reminders: actions: %w", err)
		}
		for _, a := range acts {
			add(a.Owner)
		}
	}
	out := make([]string, 0, len(seen))
	for _, n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
