package domain_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/partyledger/partyledger/domain"
)

// reviewHeld is a recorded review with a window, a decision and an action.
func reviewHeld() domain.ManagementReviewHeld {
	return domain.ManagementReviewHeld{ReviewID: idMR, HeldOn: "2025-05-28", Title: "Q2 management review",
		Attendees: []string{"CEO"}, ConsideredFrom: ptr(int64(0)), ConsideredTo: ptr(int64(40)),
		Decisions: []string{"Extend scope."},
		Actions:   []domain.ReviewActionItem{{ActionID: idAct, Title: "Update SoA", Owner: "CISO", DueOn: "2025-07-01"}}}
}

func TestManagementReviewCorrect(t *testing.T) {
	m := domain.Meta{Actor: "ciso@example.com", Reason: "Wrong date entered."}
	voided := domain.ManagementReviewVoided{ReviewID: idMR, Changes: domain.Changes{"status": {From: "recorded", To: "voided"}}}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.CorrectManagementReview
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "date and window", history: []domain.Event{reviewHeld()},
			cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, HeldOn: ptr("2025-05-27"), ConsideredTo: ptr(int64(35))},
			want: []domain.Event{domain.ManagementReviewCorrected{ReviewID: idMR, Changes: domain.Changes{
				"held_on": {From: "2025-05-28", To: "2025-05-27"}, "considered_to": {From: int64(40), To: int64(35)}}}}},
		{name: "decisions", history: []domain.Event{reviewHeld()},
			cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, Decisions: &[]string{"Extend scope.", "Hire a DPO."}},
			want: []domain.Event{domain.ManagementReviewCorrected{ReviewID: idMR, Changes: domain.Changes{
				"decisions": {From: []string{"Extend scope."}, To: []string{"Extend scope.", "Hire a DPO."}}}}}},
		{name: "nothing changes", history: []domain.Event{reviewHeld()},
			cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, HeldOn: ptr("2025-05-28")}},
		{name: "reason required", history: []domain.Event{reviewHeld()},
			cmd:      domain.CorrectManagementReview{Meta: domain.Meta{Actor: "x"}, ReviewID: idMR, Title: ptr("Q2")},
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
		{name: "window after the head", history: []domain.Event{reviewHeld()},
			cmd:      domain.CorrectManagementReview{Meta: m, ReviewID: idMR, ConsideredTo: ptr(int64(51))},
			wantCode: domain.EINVALID, wantFields: []string{"considered_to"}},
		{name: "unknown review", cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, Title: ptr("Q2")},
			wantCode: domain.ENOTFOUND},
		{name: "void review", history: []domain.Event{reviewHeld(), voided},
			cmd:      domain.CorrectManagementReview{Meta: m, ReviewID: idMR, Title: ptr("Q2")},
			wantCode: domain.ECONFLICT},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := MustFoldReview(t, tc.history...)
			got, err := r.Correct(tc.cmd, domain.ReviewLog{Head: 50}, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}
}

func TestManagementReviewVoidAndFold(t *testing.T) {
	r := MustFoldReview(t, reviewHeld())
	m := domain.Meta{Actor: "ciso@example.com", Reason: "Recorded twice."}
	if _, err := r.Void(domain.VoidManagementReview{Meta: domain.Meta{Actor: "x"}, ReviewID: idMR}, now); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("void without reason: %v, want invalid", err)
	}
	evs, err := r.Void(domain.VoidManagementReview{Meta: m, ReviewID: idMR}, now)
	if err != nil {
		t.Fatal(err)
	}
	corr, err := r.Correct(domain.CorrectManagementReview{Meta: m, ReviewID: idMR, HeldOn: ptr("2025-05-20"),
		ConsideredFrom: ptr(int64(3)), Attendees: &[]string{"CEO", "CFO"}}, domain.ReviewLog{Head: 50}, now)
	if err != nil {
		t.Fatal(err)
	}
	r = MustFoldReview(t, append([]domain.Event{reviewHeld()}, corr...)...)
	want := &domain.ManagementReview{ID: idMR, Version: 2, HeldOn: "2025-05-20", Title: "Q2 management review",
		Attendees: []string{"CEO", "CFO"}, ConsideredFrom: ptr(int64(3)), ConsideredTo: ptr(int64(40)),
		Decisions: []string{"Extend scope."}, Actions: reviewHeld().Actions, Status: domain.ReviewRecorded}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("fold after correction (-want +got):\n%s", diff)
	}
	r = MustFoldReview(t, append([]domain.Event{reviewHeld()}, evs...)...)
	if r.Status != domain.ReviewVoided {
		t.Errorf("status after void = %q", r.Status)
	}
	if _, err := r.Void(domain.VoidManagementReview{Meta: m, ReviewID: idMR}, now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("second void: %v, want conflict", err)
	}
}

func TestReviewAction(t *testing.T) {
	rv := MustFoldReview(t, reviewHeld())
	if _, ok := domain.NewReviewAction(rv, "01975f2c-0000-7000-8000-0000000000ff"); ok {
		t.Error("NewReviewAction found an action the review does not have")
	}
	a, ok := domain.NewReviewAction(rv, idAct)
	if !ok || a.Status != domain.ActionOpen {
		t.Fatalf("NewReviewAction = %+v, %v", a, ok)
	}
	m := domain.Meta{Actor: "ciso@example.com"}
	if _, err := a.Complete(domain.CompleteAction{Meta: m, ActionID: idAct, Evidence: " "}, domain.ReviewRecorded, now); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("complete without evidence: %v", err)
	}
	if _, err := a.Cancel(domain.CancelAction{Meta: m, ActionID: idAct}, domain.ReviewRecorded, now); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("cancel without reason: %v", err)
	}
	if _, err := a.Complete(domain.CompleteAction{Meta: m, ActionID: idAct, Evidence: "SoA v7"}, domain.ReviewVoided, now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("complete on a void review: %v", err)
	}
	evs, err := a.Complete(domain.CompleteAction{Meta: m, ActionID: idAct, Evidence: " https://wiki/soa-v7 "}, domain.ReviewRecorded, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []domain.Event{domain.ReviewActionCompleted{ActionID: idAct, ReviewID: idMR, Evidence: "https://wiki/soa-v7",
		Changes: domain.Changes{"status": {From: "open", To: "done"}}}}
	if diff := cmp.Diff(want, evs); diff != "" {
		t.Errorf("complete (-want +got):\n%s", diff)
	}
	for _, e := range MustRoundTrip(t, evs...) {
		a.Apply(e)
	}
	if a.Status != domain.ActionDone || a.Evidence != "https://wiki/soa-v7" || a.Version != 1 {
		t.Errorf("after complete: %+v", a)
	}
	if _, err := a.Cancel(domain.CancelAction{Meta: domain.Meta{Actor: "x", Reason: "no"}, ActionID: idAct}, domain.ReviewRecorded, now); domain.ErrorCode(err) != domain.ECONFLICT {
		t.Errorf("cancel after done: %v, want conflict", err)
	}
}

func TestSettingsChange(t *testing.T) {
	s := &domain.Settings{}
	m := domain.Meta{Actor: "admin"}
	if _, err := s.Change(domain.ChangeSettings{Meta: m, OrgName: ptr(" ")}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("blank org name: %v", err)
	}
	evs, err := s.Change(domain.ChangeSettings{Meta: m, OrgName: ptr(" Acme Payments Ltd ")})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range MustRoundTrip(t, evs...) {
		s.Apply(e)
	}
	if s.OrgName != "Acme Payments Ltd" || s.Version != 1 {
		t.Errorf("settings = %+v", s)
	}
	if evs, err := s.Change(domain.ChangeSettings{Meta: m, OrgName: ptr("Acme Payments Ltd")}); err != nil || len(evs) != 0 {
		t.Errorf("unchanged name: %v, %v; want nothing", evs, err)
	}
}

func TestManagementReviewCorrectActions(t *testing.T) {
	m := domain.Meta{Actor: "ciso@example.com", Reason: "Minutes amended."}
	const idNew = domain.ActionID("01975f2c-0000-7000-8000-0000000000a2")
	train := domain.ActionInput{ActionID: idNew, Title: " Train the board ", Owner: "CEO", DueOn: "2025-12-01"}
	added := domain.ManagementReviewCorrected{ReviewID: idMR, Changes: domain.Changes{
		"actions": {From: []string{"Update SoA"}, To: []string{"Update SoA", "Train the board"}}},
		ActionsAdded: []domain.ReviewActionItem{{ActionID: idNew, Title: "Train the board", Owner: "CEO", DueOn: "2025-12-01"}}}
	removed := domain.ManagementReviewCorrected{ReviewID: idMR, Changes: domain.Changes{
		"actions": {From: []string{"Update SoA"}, To: []string{}}}, ActionsRemoved: []domain.ActionID{idAct}}
	tests := []struct {
		name       string
		history    []domain.Event
		cmd        domain.CorrectManagementReview
		want       []domain.Event
		wantCode   string
		wantFields []string
	}{
		{name: "add", history: []domain.Event{reviewHeld()},
			cmd:  domain.CorrectManagementReview{Meta: m, ReviewID: idMR, AddActions: []domain.ActionInput{train}},
			want: []domain.Event{added}},
		{name: "remove", history: []domain.Event{reviewHeld()},
			cmd:  domain.CorrectManagementReview{Meta: m, ReviewID: idMR, RemoveActions: []domain.ActionID{idAct}},
			want: []domain.Event{removed}},
		{name: "add and remove with a title", history: []domain.Event{reviewHeld()},
			cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, Title: ptr("Q2"),
				AddActions: []domain.ActionInput{train}, RemoveActions: []domain.ActionID{idAct}},
			want: []domain.Event{domain.ManagementReviewCorrected{ReviewID: idMR, Changes: domain.Changes{
				"title":   {From: "Q2 management review", To: "Q2"},
				"actions": {From: []string{"Update SoA"}, To: []string{"Train the board"}}},
				ActionsAdded: added.ActionsAdded, ActionsRemoved: []domain.ActionID{idAct}}}},
		{name: "remove an unknown action", history: []domain.Event{reviewHeld()},
			cmd:      domain.CorrectManagementReview{Meta: m, ReviewID: idMR, RemoveActions: []domain.ActionID{idNew}},
			wantCode: domain.EINVALID, wantFields: []string{"remove_actions"}},
		{name: "remove twice in one correction", history: []domain.Event{reviewHeld()},
			cmd:      domain.CorrectManagementReview{Meta: m, ReviewID: idMR, RemoveActions: []domain.ActionID{idAct, idAct}},
			wantCode: domain.EINVALID, wantFields: []string{"remove_actions"}},
		{name: "remove again", history: []domain.Event{reviewHeld(), removed},
			cmd:      domain.CorrectManagementReview{Meta: m, ReviewID: idMR, RemoveActions: []domain.ActionID{idAct}},
			wantCode: domain.EINVALID, wantFields: []string{"remove_actions"}},
		{name: "bad due date", history: []domain.Event{reviewHeld()},
			cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, AddActions: []domain.ActionInput{
				{ActionID: idNew, Title: "Train", Owner: "CEO", DueOn: "1 December"}}},
			wantCode: domain.EINVALID, wantFields: []string{"add_actions.due_on"}},
		{name: "an id the review already has", history: []domain.Event{reviewHeld()},
			cmd: domain.CorrectManagementReview{Meta: m, ReviewID: idMR, AddActions: []domain.ActionInput{
				{ActionID: idAct, Title: "Train", Owner: "CEO", DueOn: "2025-12-01"}}},
			wantCode: domain.EINVALID, wantFields: []string{"add_actions"}},
		{name: "no reason", history: []domain.Event{reviewHeld()},
			cmd:      domain.CorrectManagementReview{Meta: domain.Meta{Actor: "x"}, ReviewID: idMR, AddActions: []domain.ActionInput{train}},
			wantCode: domain.EINVALID, wantFields: []string{"reason"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := MustFoldReview(t, tc.history...)
			got, err := r.Correct(tc.cmd, domain.ReviewLog{Head: 50}, now)
			checkDecision(t, got, err, tc.want, tc.wantCode, tc.wantFields)
		})
	}

	// Folded (after a round trip through JSON), the review keeps every
	// action it ever had and names the removed ones; the removed action's
	// own state is still found, so that its stream can record the cancel.
	r := MustFoldReview(t, append([]domain.Event{reviewHeld()}, MustRoundTrip(t, added, removed)...)...)
	if got := len(r.Actions); got != 2 || r.Actions[1].ActionID != idNew {
		t.Errorf("actions after corrections = %+v", r.Actions)
	}
	if diff := cmp.Diff([]domain.ActionID{idAct}, r.RemovedActions); diff != "" {
		t.Errorf("removed actions (-want +got):\n%s", diff)
	}
	if _, ok := domain.NewReviewAction(r, idNew); !ok {
		t.Error("an added action has no state")
	}
}
