package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

func TestManagementReviewHold(t *testing.T) {
	valid := func(edit func(*domain.HoldManagementReview)) domain.HoldManagementReview {
		c := domain.HoldManagementReview{Meta: domain.Meta{Actor: "ciso@example.com"}, ReviewID: idMR,
			HeldOn: "2025-05-28", Title: " Q2 management review ",
			Attendees: []string{" CEO ", "CISO"}, Notes: "Register reviewed.\nNo open actions."}
		if edit != nil {
			edit(&c)
		}
		return c
	}
	validEvent := func(edit func(*domain.ManagementReviewHeld)) []domain.Event {
		e := domain.ManagementReviewHeld{ReviewID: idMR, HeldOn: "2025-05-28", Title: "Q2 management review",
			Attendees: []string{"CEO", "CISO"}, Notes: "Register reviewed.\nNo open actions.",
			ConsideredFrom: ptr(int64(0)), ConsideredTo: ptr(int64(40))}
		if edit != nil {
			edit(&e)
		}
		return []domain.Event{e}
	}
	held := []domain.Event{validEvent(nil)[0]}

	tests := []struct {
		name       string
		history    []domain.Event
		log        *domain.ReviewLog // nil: head 40, no review before
		now        time.Time         // zero: the package's now, 2025-06-01T12:00Z
		cmd        domain.HoldManagementReview
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "valid, trims title and attendees", cmd: valid(nil), want: validEvent(nil)},
		{name: "default title",
			cmd:  valid(func(c *domain.HoldManagementReview) { c.Title = "  " }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.Title = "Management review 2025-05-28" })},
		{name: "no attendees",
			cmd:  valid(func(c *domain.HoldManagementReview) { c.Attendees = nil }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.Attendees = []string{} })},
		{name: "held today",
			cmd:  valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-06-01" }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.HeldOn = "2025-06-01" })},
		{name: "held tomorrow: already today east of UTC",
			cmd:  valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-06-02" }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.HeldOn = "2025-06-02" })},
		{name: "held tomorrow just after midnight UTC", now: time.Date(2025, 6, 1, 0, 0, 1, 0, time.UTC),
			cmd:  valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-06-02" }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.HeldOn = "2025-06-02" })},
		{name: "now in another zone counts by its UTC date",
			now:  time.Date(2025, 6, 1, 23, 0, 0, 0, time.FixedZone("UTC-10", -10*3600)), // 2025-06-02T09:00Z
			cmd:  valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-06-03" }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.HeldOn = "2025-06-03" })},
		{name: "no reason is fine",
			cmd: valid(func(c *domain.HoldManagementReview) { c.Reason = "" }), want: validEvent(nil)},

		{name: "in two days", cmd: valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-06-03" }),
			wantCode: domain.EINVALID, wantFields: []string{"held_on"}},
		{name: "in two days, late in the day", now: time.Date(2025, 6, 1, 23, 59, 0, 0, time.UTC),
			cmd:      valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-06-03" }),
			wantCode: domain.EINVALID, wantFields: []string{"held_on"}},
		{name: "next year", cmd: valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2026-06-01" }),
			wantCode: domain.EINVALID, wantFields: []string{"held_on"}},
		{name: "date missing", cmd: valid(func(c *domain.HoldManagementReview) { c.HeldOn = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"held_on"}},
		{name: "date malformed", cmd: valid(func(c *domain.HoldManagementReview) { c.HeldOn = "28.05.2025" }),
			wantCode: domain.EINVALID, wantFields: []string{"held_on"}},
		{name: "date out of range", cmd: valid(func(c *domain.HoldManagementReview) { c.HeldOn = "2025-02-29" }),
			wantCode: domain.EINVALID, wantFields: []string{"held_on"}},
		{name: "id not a UUID", cmd: valid(func(c *domain.HoldManagementReview) { c.ReviewID = "2025-q2" }),
			wantCode: domain.EINVALID, wantFields: []string{"id"}},
		{name: "actor missing", cmd: valid(func(c *domain.HoldManagementReview) { c.Actor = "" }),
			wantCode: domain.EINVALID, wantFields: []string{"actor"}},
		{name: "trigger unknown", cmd: valid(func(c *domain.HoldManagementReview) { c.Trigger = "quarterly" }),
			wantCode: domain.EINVALID, wantFields: []string{"trigger"}},
		{name: "title of 201 characters",
			cmd:      valid(func(c *domain.HoldManagementReview) { c.Title = strings.Repeat("r", 201) }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "title with control character",
			cmd:      valid(func(c *domain.HoldManagementReview) { c.Title = "Q2\x00" }),
			wantCode: domain.EINVALID, wantFields: []string{"title"}},
		{name: "attendee blank",
			cmd:      valid(func(c *domain.HoldManagementReview) { c.Attendees = []string{"CEO", " "} }),
			wantCode: domain.EINVALID, wantFields: []string{"attendees"}},
		{name: "too many attendees",
			cmd: valid(func(c *domain.HoldManagementReview) {
				c.Attendees = make([]string, domain.MaxAttendees+1)
				for i := range c.Attendees {
					c.Attendees[i] = "member"
				}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"attendees"}},
		{name: "notes invalid UTF-8", cmd: valid(func(c *domain.HoldManagementReview) { c.Notes = "\xed\xa0\x80" }),
			wantCode: domain.EINVALID, wantFields: []string{"notes"}},
		{name: "already recorded", history: held, cmd: valid(nil), wantCode: domain.ECONFLICT},

		// The window it considered.
		{name: "window defaults to the latest review's considered_to and the head",
			log: &domain.ReviewLog{Head: 90, LatestHeldOn: "2025-03-01", LatestConsideredTo: 30}, cmd: valid(nil),
			want: validEvent(func(e *domain.ManagementReviewHeld) {
				e.ConsideredFrom, e.ConsideredTo = ptr(int64(30)), ptr(int64(90))
			})},
		{name: "explicit window",
			cmd:  valid(func(c *domain.HoldManagementReview) { c.ConsideredFrom, c.ConsideredTo = ptr(int64(5)), ptr(int64(7)) }),
			want: validEvent(func(e *domain.ManagementReviewHeld) { e.ConsideredFrom, e.ConsideredTo = ptr(int64(5)), ptr(int64(7)) })},
		{name: "late review without a window is refused",
			log: &domain.ReviewLog{Head: 90, LatestHeldOn: "2025-05-30", LatestConsideredTo: 80}, cmd: valid(nil),
			wantCode: domain.EINVALID, wantFields: []string{"considered_from"}},
		{name: "late review with only one end is refused",
			log:      &domain.ReviewLog{Head: 90, LatestHeldOn: "2025-05-30", LatestConsideredTo: 80},
			cmd:      valid(func(c *domain.HoldManagementReview) { c.ConsideredTo = ptr(int64(50)) }),
			wantCode: domain.EINVALID, wantFields: []string{"considered_from"}},
		{name: "late review with its window is accepted and marked late",
			log: &domain.ReviewLog{Head: 90, LatestHeldOn: "2025-05-30", LatestConsideredTo: 80},
			cmd: valid(func(c *domain.HoldManagementReview) {
				c.ConsideredFrom, c.ConsideredTo = ptr(int64(10)), ptr(int64(50))
			}),
			want: validEvent(func(e *domain.ManagementReviewHeld) {
				e.ConsideredFrom, e.ConsideredTo, e.Late = ptr(int64(10)), ptr(int64(50)), true
			})},
		{name: "same day as the latest is not late",
			log: &domain.ReviewLog{Head: 90, LatestHeldOn: "2025-05-28", LatestConsideredTo: 80}, cmd: valid(nil),
			want: validEvent(func(e *domain.ManagementReviewHeld) {
				e.ConsideredFrom, e.ConsideredTo = ptr(int64(80)), ptr(int64(90))
			})},
		{name: "window end after the head",
			cmd:      valid(func(c *domain.HoldManagementReview) { c.ConsideredTo = ptr(int64(41)) }),
			wantCode: domain.EINVALID, wantFields: []string{"considered_to"}},
		{name: "window reversed",
			cmd:      valid(func(c *domain.HoldManagementReview) { c.ConsideredFrom, c.ConsideredTo = ptr(int64(9)), ptr(int64(8)) }),
			wantCode: domain.EINVALID, wantFields: []string{"considered_from"}},

		// 9.3.3 outputs.
		{name: "decisions and actions",
			cmd: valid(func(c *domain.HoldManagementReview) {
				c.Decisions = []string{" Extend scope to the DR site. "}
				c.Actions = []domain.ActionInput{{ActionID: idAct, Title: " Update SoA ", Owner: "CISO", DueOn: "2025-07-01"}}
			}),
			want: validEvent(func(e *domain.ManagementReviewHeld) {
				e.Decisions = []string{"Extend scope to the DR site."}
				e.Actions = []domain.ReviewActionItem{{ActionID: idAct, Title: "Update SoA", Owner: "CISO", DueOn: "2025-07-01"}}
			})},
		{name: "empty decision",
			cmd:      valid(func(c *domain.HoldManagementReview) { c.Decisions = []string{" "} }),
			wantCode: domain.EINVALID, wantFields: []string{"decisions"}},
		{name: "action without owner or due date",
			cmd: valid(func(c *domain.HoldManagementReview) {
				c.Actions = []domain.ActionInput{{ActionID: idAct, Title: "Update SoA"}}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"actions.owner", "actions.due_on"}},
		{name: "action id twice",
			cmd: valid(func(c *domain.HoldManagementReview) {
				a := domain.ActionInput{ActionID: idAct, Title: "Update SoA", Owner: "CISO", DueOn: "2025-07-01"}
				c.Actions = []domain.ActionInput{a, a}
			}),
			wantCode: domain.EINVALID, wantFields: []string{"actions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := tc.now
			if at.IsZero() {
				at = now
			}
			log := domain.ReviewLog{Head: 40}
			if tc.log != nil {
				log = *tc.log
			}
			r := MustFoldReview(t, tc.history...)
			got, err := r.Hold(tc.cmd, log, at)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestFoldManagementReview(t *testing.T) {
	r := MustFoldReview(t, domain.ManagementReviewHeld{ReviewID: idMR, HeldOn: "2025-05-28",
		Title: "Q2 management review", Attendees: []string{"CEO", "CISO"}, Notes: "Fine."})
	want := &domain.ManagementReview{ID: idMR, Version: 1, HeldOn: "2025-05-28",
		Title: "Q2 management review", Attendees: []string{"CEO", "CISO"}, Notes: "Fine.", Status: domain.ReviewRecorded}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("fold mismatch (-want +got):\n%s", diff)
	}
	if !r.Exists() {
		t.Error("Exists() = false after ManagementReviewHeld")
	}
	if (&domain.ManagementReview{}).Exists() {
		t.Error("Exists() = true for an empty stream")
	}
}
