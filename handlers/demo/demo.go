// Package demo loads an example organisation, Northwind Cloud Ltd (a
// mid-size EU SaaS company that processes its customers' personal data),
// into the register, so that a newcomer sees a populated register of
// interested parties (ISO/IEC 27001:2022 clause 4.2) and a non-empty
// clause 9.3.2 c) feed of changes since the last management review at once.
//
// The loader issues real commands through [Commands] (in production the
// *commands.Service), so every domain rule is checked; it never writes
// events directly. It runs in three acts:
//
//  1. the baseline register: parties, their requirements and expectations,
//     and the clause 4.2 c) addressing decisions taken so far;
//  2. a management review, held on [ReviewHeldOn];
//  3. the changes since that review, each with a reason and a trigger
//     (regulatory change, contract change, incident, customer feedback,
//     periodic review, risk assessment, audit finding, management review).
//
// With [WithObjectives] it also sets, before the review, objectives with
// KPIs and measurements (clause 6.2), the communication plan and the
// communications sent (clause 7.4); after it, a KPI falls below target, an
// objective is re-targeted, requirements are reviewed and communications
// are sent (objectives.go).
//
// Every command carries an effective date that tells the story, so that
// the register read as of a date on the effective axis means something:
// the parties and their requirements were identified at the context
// workshop of 2026-01-20 ([EffectiveIdentified]), the addressing decisions
// took effect with the risk treatment plan of 2026-02-16
// ([EffectiveDecided]), the review was held on [ReviewHeldOn], and the
// changes after it took effect one every few days from the day after the
// review. No date is later than the day the demo is loaded (the day of the
// first event's time): the domain refuses future effective dates.
//
// Every party, requirement and review id is derived from a fixed namespace
// with [uuid.NewSHA1], so the ids are the same on every run; event ids and
// times come from the service (a test can fix its clock).
package demo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/handlers/commands"
)

// Commands is what the loader drives: every command, the one interface
// declared in package commands (implemented by *commands.Service).
type Commands = commands.API

// Namespace is the UUID namespace of every demo id. Never change it: golden
// files and links into a loaded demo depend on it.
var Namespace = uuid.MustParse("6ba8cc32-912c-4f5c-95bb-3ec034c05f99")

// PartyID returns the id of the demo party with the given key (for example
// "customers" or "government-customers").
func PartyID(key string) domain.PartyID {
	return domain.PartyID(uuid.NewSHA1(Namespace, []byte("demo/party/"+key)).String())
}

// RequirementID returns the id of the demo requirement with the given key.
func RequirementID(key string) domain.RequirementID {
	return domain.RequirementID(uuid.NewSHA1(Namespace, []byte("demo/requirement/"+key)).String())
}

// ReviewID returns the id of the demo management review with the given key.
func ReviewID(key string) domain.ReviewID {
	return domain.ReviewID(uuid.NewSHA1(Namespace, []byte("demo/review/"+key)).String())
}

// Keys of demo parties that callers and tests refer to.
const (
	PartyCustomers           = "customers"
	PartyGovernmentCustomers = "government-customers"
)

// ReviewKey is the key of the demo's management review; ReviewHeldOn its
// date. The service's clock must be at least the day before ReviewHeldOn,
// or the domain rejects the review as held in the future.
const (
	ReviewKey    = "2026-q1"
	ReviewHeldOn = "2026-03-12"
)

// The demo's effective dates (see the package doc).
const (
	EffectiveIdentified = "2026-01-20"
	EffectiveDecided    = "2026-02-16"
	// effectiveStep is the days between the effective dates of the
	// changes after the review.
	effectiveStep = 3
)

// ErrAlreadyLoaded is returned (wrapped together with the service's
// conflict error) when the demo's first party already exists in the store.
// A conflict with a party of the user's own is returned as it is.
var ErrAlreadyLoaded = errors.New("demo: the demo organisation is already loaded")

// Summary counts what [Load] did.
type Summary struct {
	Parties             int    `json:"parties"`              // parties identified
	PartiesRetired      int    `json:"parties_retired"`      // of which retired again
	Requirements        int    `json:"requirements"`         // requirements and expectations identified
	RequirementsRetired int    `json:"requirements_retired"` // of which retired again
	Decisions           int    `json:"decisions"`            // addressing decisions recorded (clause 4.2 c)
	Reviews             int    `json:"reviews"`              // management reviews held
	Objectives          int    `json:"objectives"`           // objectives set (clause 6.2)
	KPIs                int    `json:"kpis"`                 // KPIs defined
	Measurements        int    `json:"measurements"`         // KPI measurements recorded
	RequirementReviews  int    `json:"requirement_reviews"`  // periodic reviews of requirements
	PlanEntries         int    `json:"plan_entries"`         // communication plan entries (clause 7.4)
	Communications      int    `json:"communications"`       // communications recorded as sent
	Commands            int    `json:"commands"`             // commands issued
	Events              int    `json:"events"`               // events appended
	ChangesAfterReview  int    `json:"changes_after_review"` // events appended after the last review
	ReviewID            string `json:"review_id"`            // id of the last review
	ReviewPosition      int64  `json:"review_position"`      // global position of its event
}

// Load issues the demo's commands in order, stopping at the first error.
// actor is recorded on every event; progress, if not nil, is called with a
// short line after each command. Load is meant for an empty store: if the
// demo has been loaded before it fails with [ErrAlreadyLoaded] before
// writing anything.
func Load(ctx context.Context, c Commands, actor string, progress func(msg string), opts ...Option) (Summary, error) {
	l := &loader{ctx: ctx, c: c, actor: actor, progress: progress, reqParty: map[string]string{}}
	for _, o := range opts {
		o(l)
	}
	if err := l.run(); err != nil {
		return l.sum, err
	}
	return l.sum, nil
}

type loader struct {
	ctx      context.Context
	c        Commands
	actor    string
	progress func(string)
	sum      Summary
	reqParty map[string]string // requirement key -> party key
	reviewed bool              // the review has been held: count later events
	// objectives: load objectives, reviews and communications too.
	objectives bool
	// relationships: load relationships (and the competitor) too.
	relationships bool

	// effective is the effective date of the current act (before the
	// review); after is how many commands after the review have been
	// dated; today is the date of the first event recorded (the load day).
	effective string
	after     int
	today     string
}

func (l *loader) run() error {
	l.effective = EffectiveIdentified
	for i, p := range parties {
		err := l.identifyParty(p, "Baseline register from the 2026 context analysis (clause 4.1/4.2 workshop of 2026-01-20)", "periodic_review")
		if i == 0 && loadedBefore(err, PartyID(p.key)) {
			return fmt.Errorf("%w: %w", ErrAlreadyLoaded, err)
		}
		if err != nil {
			return err
		}
	}
	for _, r := range requirements {
		if err := l.identifyRequirement(r, "Baseline register from the 2026 context analysis (clause 4.1/4.2 workshop of 2026-01-20)", "periodic_review"); err != nil {
			return err
		}
	}
	l.effective = EffectiveDecided
	for _, d := range decisions {
		if err := l.decide(d, "Risk treatment plan RTP-2026 approved by the CISO on 2026-02-16", "risk_assessment"); err != nil {
			return err
		}
	}
	if l.objectives {
		if err := l.baselineObjectives(); err != nil {
			return err
		}
	}
	if l.relationships {
		l.effective = EffectiveIdentified
		if err := l.baselineRelationships(); err != nil {
			return err
		}
	}
	l.effective = ReviewHeldOn
	if err := l.holdReview(); err != nil {
		return err
	}
	l.reviewed = true
	if err := l.changesAfterReview(); err != nil {
		return err
	}
	if l.relationships {
		if err := l.relationshipsAfterReview(); err != nil {
			return err
		}
	}
	if l.objectives {
		return l.objectivesAfterReview()
	}
	return nil
}

// loadedBefore reports whether err, from identifying the demo's first party
// id, says that this very party exists already: its stream is taken, or its
// name is used by a party with its id.
func loadedBefore(err error, id domain.PartyID) bool {
	if errors.Is(err, eventstore.ErrConflict) {
		return true
	}
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.ECONFLICT {
		return false
	}
	for _, f := range de.Fields {
		if f.Field == "name" && strings.HasSuffix(f.Message, " "+string(id)) {
			return true
		}
	}
	return false
}

func (l *loader) meta(reason, trigger string) domain.Meta {
	return domain.Meta{Actor: l.actor, Reason: reason, Trigger: trigger, EffectiveOn: l.effectiveOn()}
}

// effectiveOn returns the effective date of the next command: the act's
// date before the review, then one every effectiveStep days from the day
// after the review; never later than the load day.
func (l *loader) effectiveOn() string {
	on := l.effective
	if l.reviewed {
		d, _ := time.Parse(time.DateOnly, ReviewHeldOn)
		l.after++
		on = d.AddDate(0, 0, 1+effectiveStep*(l.after-1)).Format(time.DateOnly)
	}
	if l.today != "" && on > l.today {
		on = l.today
	}
	return on
}

// do runs one command and keeps count.
func (l *loader) do(what string, cmd func() (commands.Result, error)) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	res, err := cmd()
	if err != nil {
		return fmt.Errorf("demo: %s: %w", what, err)
	}
	l.sum.Commands++
	l.sum.Events += len(res.Events)
	if l.today == "" && len(res.Events) > 0 {
		l.today = res.Events[0].Time.UTC().Format(time.DateOnly)
	}
	if l.reviewed {
		l.sum.ChangesAfterReview += len(res.Events)
	}
	if l.progress != nil {
		l.progress(what)
	}
	return nil
}

func (l *loader) identifyParty(p party, reason, trigger string) error {
	cmd := domain.IdentifyParty{Meta: l.meta(reason, trigger), PartyID: PartyID(p.key), Name: p.name,
		Category: p.category, Scope: p.scope, Description: p.description, Owner: p.owner,
		Influence: p.influence, Interest: p.interest}
	if p.parent != "" {
		parent := PartyID(p.parent)
		cmd.ParentID = &parent
	}
	err := l.do("identify party "+p.name, func() (commands.Result, error) { return l.c.IdentifyParty(l.ctx, cmd) })
	if err == nil {
		l.sum.Parties++
	}
	return err
}

func (l *loader) identifyRequirement(r requirement, reason, trigger string) error {
	l.reqParty[r.key] = r.party
	cmd := domain.IdentifyRequirement{Meta: l.meta(reason, trigger), PartyID: PartyID(r.party),
		RequirementID: RequirementID(r.key), Kind: r.kind, Title: r.title, Description: r.description,
		SourceType: r.sourceType, SourceRef: r.sourceRef, Owner: r.owner, Priority: r.priority,
		ReviewDue: r.reviewDue}
	err := l.do("identify "+r.kind+" "+r.title, func() (commands.Result, error) {
		return l.c.IdentifyRequirement(l.ctx, cmd, nil)
	})
	if err == nil {
		l.sum.Requirements++
	}
	return err
}

func (l *loader) decide(d decision, reason, trigger string) error {
	cmd := domain.DecideAddressing{Meta: l.meta(reason, trigger), PartyID: PartyID(l.reqParty[d.req]),
		RequirementID: RequirementID(d.req), Addressed: d.addressed, Rationale: d.rationale,
		Treatment: d.treatment, Controls: d.controls}
	err := l.do("decide addressing of "+d.req, func() (commands.Result, error) {
		return l.c.DecideAddressing(l.ctx, cmd, nil)
	})
	if err == nil {
		l.sum.Decisions++
	}
	return err
}

func (l *loader) reviseRequirement(cmd domain.ReviseRequirement, key string) error {
	cmd.PartyID, cmd.RequirementID = PartyID(l.reqParty[key]), RequirementID(key)
	return l.do("revise requirement "+key, func() (commands.Result, error) {
		return l.c.ReviseRequirement(l.ctx, cmd, nil)
	})
}

func (l *loader) retireRequirement(key, reason, trigger string) error {
	cmd := domain.RetireRequirement{Meta: l.meta(reason, trigger), PartyID: PartyID(l.reqParty[key]),
		RequirementID: RequirementID(key)}
	err := l.do("retire requirement "+key, func() (commands.Result, error) {
		return l.c.RetireRequirement(l.ctx, cmd, nil)
	})
	if err == nil {
		l.sum.RequirementsRetired++
	}
	return err
}

func (l *loader) reviseParty(cmd domain.ReviseParty, key string) error {
	cmd.PartyID = PartyID(key)
	return l.do("revise party "+key, func() (commands.Result, error) {
		return l.c.ReviseParty(l.ctx, cmd, nil)
	})
}

func (l *loader) retireParty(key, reason, trigger string) error {
	cmd := domain.RetireParty{Meta: l.meta(reason, trigger), PartyID: PartyID(key)}
	err := l.do("retire party "+key, func() (commands.Result, error) {
		return l.c.RetireParty(l.ctx, cmd, nil)
	})
	if err == nil {
		l.sum.PartiesRetired++
	}
	return err
}

func (l *loader) holdReview() error {
	cmd := domain.HoldManagementReview{Meta: l.meta("Scheduled Q1 management review (clause 9.3)", "management_review"),
		ReviewID: ReviewID(ReviewKey), HeldOn: ReviewHeldOn, Title: review.title,
		Attendees: review.attendees, Notes: review.notes}
	var res commands.Result
	err := l.do("hold management review "+ReviewHeldOn, func() (commands.Result, error) {
		var err error
		res, err = l.c.HoldManagementReview(l.ctx, cmd)
		return res, err
	})
	if err == nil {
		l.sum.Reviews++
		l.sum.ReviewID, l.sum.ReviewPosition = string(cmd.ReviewID), res.Position
	}
	return err
}

func yes() *bool        { b := true; return &b }
func no() *bool         { b := false; return &b }
func ptr[T any](v T) *T { return &v }
