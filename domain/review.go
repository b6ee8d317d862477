package domain

import (
	"slices"
	"strings"
	"time"
)

// Review statuses.
const (
	ReviewRecorded = "recorded"
	ReviewVoided   = "voided"
)

// Limits of the 9.3.3 outputs of a review.
const (
	MaxDecisions = 100
	MaxActions   = 100
)

// ManagementReview is the state of a management review (clause 9.3).
type ManagementReview struct {
	ID        ReviewID
	Version   int64
	HeldOn    string
	Title     string
	Attendees []string
	Notes     string
	// ConsideredFrom and ConsideredTo are the log positions the review
	// considered (after ConsideredFrom, up to and including ConsideredTo).
	// Both are nil for a review recorded before windows were recorded.
	ConsideredFrom *int64
	ConsideredTo   *int64
	Decisions      []string
	// Actions holds every action the review decided, those added by a
	// correction included, in order; RemovedActions names those a
	// correction removed (their own streams record them as cancelled).
	Actions        []ReviewActionItem
	RemovedActions []ActionID
	Status         string // ReviewRecorded or ReviewVoided
}

// Exists reports whether the review has been recorded.
func (r *ManagementReview) Exists() bool { return r != nil && r.Version > 0 }

// Action returns the review's action with id, if it has one.
func (r *ManagementReview) Action(id ActionID) (ReviewActionItem, bool) {
	for _, a := range r.Actions {
		if a.ActionID == id {
			return a, true
		}
	}
	return ReviewActionItem{}, false
}

// Apply folds one event into the review.
func (r *ManagementReview) Apply(e Event) {
	r.Version++
	switch e := e.(type) {
	case ManagementReviewHeld:
		r.ID, r.HeldOn, r.Title, r.Notes = e.ReviewID, e.HeldOn, e.Title, e.Notes
		r.Attendees = slices.Clone(e.Attendees)
		r.ConsideredFrom, r.ConsideredTo = clonePos(e.ConsideredFrom), clonePos(e.ConsideredTo)
		r.Decisions = slices.Clone(e.Decisions)
		r.Actions = slices.Clone(e.Actions)
		r.Status = ReviewRecorded
	case ManagementReviewCorrected:
		for f, c := range e.Changes {
			switch f {
			case "held_on":
				r.HeldOn, _ = c.To.(string)
			case "title":
				r.Title, _ = c.To.(string)
			case "notes":
				r.Notes, _ = c.To.(string)
			case "attendees":
				r.Attendees = anyStrings(c.To)
			case "decisions":
				r.Decisions = anyStrings(c.To)
			case "considered_from":
				r.ConsideredFrom = anyPos(c.To)
			case "considered_to":
				r.ConsideredTo = anyPos(c.To)
			}
		}
		r.Actions = append(r.Actions, e.ActionsAdded...)
		r.RemovedActions = append(r.RemovedActions, e.ActionsRemoved...)
	case ManagementReviewVoided:
		r.Status = ReviewVoided
	}
}

// clonePos copies an optional position.
func clonePos(p *int64) *int64 {
	if p == nil {
		return nil
	}
	n := *p
	return &n
}

// anyStrings reads a list of strings from a change value, as decoded from
// JSON ([]any) or as decided ([]string).
func anyStrings(v any) []string {
	switch l := v.(type) {
	case []string:
		return slices.Clone(l)
	case []any:
		out := make([]string, 0, len(l))
		for _, s := range l {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// anyPos reads a position from a change value, as decoded from JSON
// (float64) or as decided (int64).
func anyPos(v any) *int64 {
	switch n := v.(type) {
	case int64:
		return &n
	case float64:
		p := int64(n)
		return &p
	}
	return nil
}

// ReviewLog is what a review decision needs to know about the log and the
// other reviews; the application layer reads it just before deciding.
type ReviewLog struct {
	// Head is the position of the last event in the log.
	Head int64
	// LatestHeldOn is the held_on of the review with the latest held_on
	// among the reviews that are not voided; "" when there is none.
	LatestHeldOn string
	// LatestConsideredTo is that review's considered_to: where the next
	// window starts by default.
	LatestConsideredTo int64
}

// ActionInput is one action (9.3.3) given when a review is recorded.
type ActionInput struct {
	ActionID ActionID // chosen by the caller (a new UUID)
	Title    string
	Owner    string
	DueOn    string // YYYY-MM-DD
}

// HoldManagementReview records a management review that took place.
type HoldManagementReview struct {
	Meta
	ReviewID  ReviewID // chosen by the caller (a new UUID)
	HeldOn    string   // YYYY-MM-DD
	Title     string
	Attendees []string
	Notes     string
	// ConsideredFrom and ConsideredTo are the window the review considered,
	// as log positions already resolved from review:, position:, time: or
	// date expressions; nil takes the default (the latest review's
	// considered_to, and the head).
	ConsideredFrom *int64
	ConsideredTo   *int64
	Decisions      []string
	Actions        []ActionInput
}

// Hold decides HoldManagementReview. Its date is required and may be at most
// one day after the UTC date of now: somewhere on earth it may already be
// tomorrow, but never the day after.
//
// A review held earlier than the latest recorded one (entered late) is
// accepted only with both ends of its window given: the defaults would make
// it consider what the later review already considered. The event then
// carries Late, so that the response can say so.
func (r *ManagementReview) Hold(cmd HoldManagementReview, log ReviewLog, now time.Time) ([]Event, error) {
	if r.Exists() {
		return nil, Errorf(ECONFLICT, "management review %s already recorded", cmd.ReviewID)
	}
	var v validation
	cmd.Meta.validate(&v, false)
	if !ValidID(string(cmd.ReviewID)) {
		v.add("id", "must be a UUID")
	}
	checkHeldOn(&v, cmd.HeldOn, now)
	title := strings.TrimSpace(cmd.Title)
	if title == "" {
		title = "Management review " + cmd.HeldOn
	}
	checkName(&v, "title", title, MaxNameLen)
	attendees := checkAttendees(&v, cmd.Attendees)
	checkText(&v, "notes", cmd.Notes, MaxTextLen)
	decisions := checkDecisions(&v, cmd.Decisions)
	actions := checkActions(&v, "actions", cmd.Actions, nil)

	late := log.LatestHeldOn != "" && cmd.HeldOn != "" && cmd.HeldOn < log.LatestHeldOn
	from, to := log.LatestConsideredTo, log.Head
	if cmd.ConsideredFrom != nil {
		from = *cmd.ConsideredFrom
	}
	if cmd.ConsideredTo != nil {
		to = *cmd.ConsideredTo
	}
	if late && (cmd.ConsideredFrom == nil || cmd.ConsideredTo == nil) {
		v.add("considered_from", "is required: this review was held on %s, before the latest recorded review (%s); "+
			"give considered_from and considered_to explicitly", cmd.HeldOn, log.LatestHeldOn)
	} else {
		checkWindow(&v, from, to, log.Head)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{ManagementReviewHeld{ReviewID: cmd.ReviewID, HeldOn: cmd.HeldOn, Title: title,
		Attendees: attendees, Notes: cmd.Notes, ConsideredFrom: &from, ConsideredTo: &to,
		Decisions: decisions, Actions: actions, Late: late}}, nil
}

// CorrectManagementReview corrects fields of a recorded review; nil leaves
// a field as it is. The reason is required.
type CorrectManagementReview struct {
	Meta
	ReviewID       ReviewID
	HeldOn         *string
	Title          *string
	Attendees      *[]string
	Notes          *string
	ConsideredFrom *int64
	ConsideredTo   *int64
	Decisions      *[]string
	// AddActions are new actions (each with its new ActionID); the
	// correction records them and they are open from then on.
	AddActions []ActionInput
	// RemoveActions are actions of this review that the correction
	// removes: each is cancelled, in its own stream and in the same atomic
	// append, with the correction's reason (see [ManagementReview.Correct]).
	RemoveActions []ActionID
}

// ReviewFields gives the display order of a review's fields.
var ReviewFields = []string{"held_on", "title", "attendees", "notes", "considered_from", "considered_to", "decisions", "actions", "status"}

// Correct decides CorrectManagementReview: a correction is a new event, the
// recorded one stays as it was. A voided review cannot be corrected
// (ECONFLICT); a correction that changes nothing appends nothing.
//
// Actions added or removed are listed in the event (ActionsAdded,
// ActionsRemoved) and in its changes as "actions" (the titles of the
// actions in force before and after). An action to remove must be one of
// this review's actions not removed before (EINVALID otherwise). Removing
// an action does not delete it: the caller cancels it in its own stream
// with [ReviewAction.Cancel], in the same append as the correction, which
// refuses an action already done or cancelled (ECONFLICT).
func (r *ManagementReview) Correct(cmd CorrectManagementReview, log ReviewLog, now time.Time) ([]Event, error) {
	if !r.Exists() {
		return nil, Errorf(ENOTFOUND, "no management review %s", cmd.ReviewID)
	}
	if r.Status == ReviewVoided {
		return nil, Errorf(ECONFLICT, "management review %s is void; record a new review instead", r.ID)
	}
	var v validation
	cmd.Meta.validate(&v, true)
	ch := Changes{}
	if cmd.HeldOn != nil {
		checkHeldOn(&v, *cmd.HeldOn, now)
		if *cmd.HeldOn != r.HeldOn {
			ch["held_on"] = Change{r.HeldOn, *cmd.HeldOn}
		}
	}
	if cmd.Title != nil {
		t := strings.TrimSpace(*cmd.Title)
		checkName(&v, "title", t, MaxNameLen)
		if t != r.Title {
			ch["title"] = Change{r.Title, t}
		}
	}
	if cmd.Attendees != nil {
		a := checkAttendees(&v, *cmd.Attendees)
		if !slices.Equal(a, r.Attendees) {
			ch["attendees"] = Change{nonNil(r.Attendees), a}
		}
	}
	setText(&v, ch, "notes", r.Notes, cmd.Notes, MaxTextLen)
	if cmd.Decisions != nil {
		d := checkDecisions(&v, *cmd.Decisions)
		if !slices.Equal(d, r.Decisions) {
			ch["decisions"] = Change{nonNil(r.Decisions), d}
		}
	}
	if cmd.ConsideredFrom != nil || cmd.ConsideredTo != nil {
		from, to := derefOr(r.ConsideredFrom, 0), derefOr(r.ConsideredTo, 0)
		if cmd.ConsideredFrom != nil {
			from = *cmd.ConsideredFrom
		}
		if cmd.ConsideredTo != nil {
			to = *cmd.ConsideredTo
		}
		checkWindow(&v, from, to, log.Head)
		if r.ConsideredFrom == nil || from != *r.ConsideredFrom {
			ch["considered_from"] = Change{posAny(r.ConsideredFrom), from}
		}
		if r.ConsideredTo == nil || to != *r.ConsideredTo {
			ch["considered_to"] = Change{posAny(r.ConsideredTo), to}
		}
	}
	added, removed := r.checkActionChanges(&v, cmd)
	if len(added) > 0 || len(removed) > 0 {
		before := r.actionTitles(nil, nil)
		ch["actions"] = Change{before, r.actionTitles(added, removed)}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if len(ch) == 0 {
		return nil, nil
	}
	return []Event{ManagementReviewCorrected{ReviewID: r.ID, Changes: ch, ActionsAdded: added, ActionsRemoved: removed}}, nil
}

// checkActionChanges validates the actions a correction adds and removes.
func (r *ManagementReview) checkActionChanges(v *validation, cmd CorrectManagementReview) ([]ReviewActionItem, []ActionID) {
	known := map[ActionID]bool{}
	for _, a := range r.Actions {
		known[a.ActionID] = true
	}
	if n := len(r.Actions) + len(cmd.AddActions); len(cmd.AddActions) > 0 && n > MaxActions {
		v.add("add_actions", "would give the review %d actions; at most %d are allowed", n, MaxActions)
	}
	added := checkActions(v, "add_actions", cmd.AddActions, known)
	if len(cmd.RemoveActions) > MaxActions {
		v.add("remove_actions", "has %d entries; at most %d are allowed", len(cmd.RemoveActions), MaxActions)
		return added, nil
	}
	var removed []ActionID
	seen := map[ActionID]bool{}
	for _, id := range cmd.RemoveActions {
		switch {
		case seen[id]:
			v.add("remove_actions", "names action %s twice", id)
		case !known[id]:
			v.add("remove_actions", "%s is not an action of management review %s", id, r.ID)
		case slices.Contains(r.RemovedActions, id):
			v.add("remove_actions", "action %s was already removed by an earlier correction", id)
		default:
			removed = append(removed, id)
		}
		seen[id] = true
	}
	return added, removed
}

// actionTitles lists the titles of the actions in force (not removed),
// with added ones appended and removed ones left out.
func (r *ManagementReview) actionTitles(added []ReviewActionItem, removed []ActionID) []string {
	out := []string{}
	for _, a := range append(slices.Clone(r.Actions), added...) {
		if !slices.Contains(r.RemovedActions, a.ActionID) && !slices.Contains(removed, a.ActionID) {
			out = append(out, a.Title)
		}
	}
	return out
}

// VoidManagementReview voids a review recorded in error. The reason is
// required.
type VoidManagementReview struct {
	Meta
	ReviewID ReviewID
}

// Void decides VoidManagementReview. A voided review stays in the log and in
// history but no longer bounds "changes since the last review". Voiding
// twice is a conflict.
func (r *ManagementReview) Void(cmd VoidManagementReview, now time.Time) ([]Event, error) {
	if !r.Exists() {
		return nil, Errorf(ENOTFOUND, "no management review %s", cmd.ReviewID)
	}
	if r.Status == ReviewVoided {
		return nil, Errorf(ECONFLICT, "management review %s is already void", r.ID)
	}
	var v validation
	cmd.Meta.validate(&v, true)
	if err := v.err(); err != nil {
		return nil, err
	}
	return []Event{ManagementReviewVoided{ReviewID: r.ID,
		Changes: Changes{"status": {From: ReviewRecorded, To: ReviewVoided}}}}, nil
}

func checkHeldOn(v *validation, heldOn string, now time.Time) {
	if heldOn == "" {
		v.add("held_on", "is required (YYYY-MM-DD)")
	} else if d, err := time.Parse(DateLayout, heldOn); err != nil {
		v.add("held_on", "must be a date YYYY-MM-DD")
	} else if d.After(utcDate(now).Add(maxFutureReviewed)) {
		v.add("held_on", "is in the future; record a review once it has been held")
	}
}

func checkAttendees(v *validation, in []string) []string {
	if len(in) > MaxAttendees {
		v.add("attendees", "has %d entries; at most %d are allowed", len(in), MaxAttendees)
	}
	out := make([]string, 0, len(in))
	for _, a := range in {
		a = strings.TrimSpace(a)
		checkName(v, "attendees", a, MaxShortLen)
		out = append(out, a)
	}
	return out
}

func checkDecisions(v *validation, in []string) []string {
	if len(in) > MaxDecisions {
		v.add("decisions", "has %d entries; at most %d are allowed", len(in), MaxDecisions)
	}
	var out []string
	for _, d := range in {
		d = strings.TrimSpace(d)
		if d == "" {
			v.add("decisions", "entries must not be empty")
			continue
		}
		checkText(v, "decisions", d, MaxTextLen)
		out = append(out, d)
	}
	return out
}

// checkActions validates the actions given in field (actions of a new
// review, add_actions of a correction); taken holds the ids already used
// by the review.
func checkActions(v *validation, field string, in []ActionInput, taken map[ActionID]bool) []ReviewActionItem {
	if len(in) > MaxActions {
		v.add(field, "has %d entries; at most %d are allowed", len(in), MaxActions)
	}
	var out []ReviewActionItem
	seen := map[ActionID]bool{}
	for _, a := range in {
		if !ValidID(string(a.ActionID)) || seen[a.ActionID] || taken[a.ActionID] {
			v.add(field, "each action needs its own UUID")
		}
		seen[a.ActionID] = true
		title, owner := strings.TrimSpace(a.Title), strings.TrimSpace(a.Owner)
		checkName(v, field+".title", title, MaxNameLen)
		checkName(v, field+".owner", owner, MaxShortLen)
		if a.DueOn == "" {
			v.add(field+".due_on", "is required (YYYY-MM-DD)")
		} else {
			checkDate(v, field+".due_on", a.DueOn)
		}
		out = append(out, ReviewActionItem{ActionID: a.ActionID, Title: title, Owner: owner, DueOn: a.DueOn})
	}
	return out
}

// checkWindow validates a considered window: 0 <= from <= to <= head.
func checkWindow(v *validation, from, to, head int64) {
	switch {
	case from < 0:
		v.add("considered_from", "must be a position >= 0")
	case to > head:
		v.add("considered_to", "is position %d, after the last event of the log (%d)", to, head)
	case from > to:
		v.add("considered_from", "is position %d, after considered_to (%d)", from, to)
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func derefOr(p *int64, d int64) int64 {
	if p == nil {
		return d
	}
	return *p
}

func posAny(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// utcDate returns midnight UTC of t's UTC calendar date.
func utcDate(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
