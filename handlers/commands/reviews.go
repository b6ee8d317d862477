package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// ReviewReads is what the review commands need from the read model beyond
// [ReadModel]: the last review, which bounds the default window of the next
// one. *projections.ReadModel implements it; the Service finds it on its
// Reads.
type ReviewReads interface {
	LatestReview(ctx context.Context) (heldOn string, consideredTo int64, ok bool, err error)
}

// reviewLog reads what a review decision needs: the head of the log (the
// read model first catches up with it) and the last review.
func (s *Service) reviewLog(ctx context.Context) (domain.ReviewLog, error) {
	var log domain.ReviewLog
	head, _, err := s.Store.Head(ctx)
	if err != nil {
		return log, fmt.Errorf("read head: %w", err)
	}
	log.Head = head
	if err := s.Reads.WaitFor(ctx, head); err != nil {
		return log, fmt.Errorf("wait for read model: %w", err)
	}
	rr, ok := s.Reads.(ReviewReads)
	if !ok {
		return log, domain.Errorf(domain.EINTERNAL, "the read model cannot answer review questions")
	}
	heldOn, to, found, err := rr.LatestReview(ctx)
	if err != nil {
		return log, fmt.Errorf("read the last review: %w", err)
	}
	if found {
		log.LatestHeldOn, log.LatestConsideredTo = heldOn, to
	}
	return log, nil
}

// HoldManagementReview records a management review with the window it
// considered, its decisions and its actions. The command's ReviewID and
// each action's ActionID are set here if empty.
//
// The default window and the late-review rule depend on the other reviews,
// read from the read model: the review is appended together with a mark in
// [domain.ReviewSequenceStream] at the version read before the read model
// was asked, so a review recorded meanwhile (by this process or another on
// the same store) makes the append fail, and the command is decided again
// on what that review recorded, up to [maxSequenceAttempts] times (then
// ECONFLICT).
func (s *Service) HoldManagementReview(ctx context.Context, cmd domain.HoldManagementReview) (Result, error) {
	if cmd.ReviewID == "" {
		cmd.ReviewID = domain.ReviewID(newID())
	}
	for i := range cmd.Actions {
		if cmd.Actions[i].ActionID == "" {
			cmd.Actions[i].ActionID = domain.ActionID(newID())
		}
	}
	for attempt := 1; ; attempt++ {
		res, again, err := s.holdOnce(ctx, cmd)
		if !again || attempt == maxSequenceAttempts {
			return res, err
		}
	}
}

// maxSequenceAttempts bounds how often a review is decided again because
// other reviews were recorded meanwhile.
const maxSequenceAttempts = 8

// holdOnce decides and appends a review once. again reports that another
// review was recorded while it decided: err is then that conflict (or the
// decision's error on a view the other review had already moved).
func (s *Service) holdOnce(ctx context.Context, cmd domain.HoldManagementReview) (_ Result, again bool, err error) {
	seq, err := s.reviewSequence(ctx)
	if err != nil {
		return Result{}, false, err
	}
	log, err := s.reviewLog(ctx) // its head is at or after every review in seq
	if err != nil {
		return Result{}, false, err
	}
	r := &domain.ManagementReview{}
	now := s.now()
	events, err := r.Hold(cmd, log, now)
	if err != nil {
		// The read model may already show a review recorded after seq was
		// read, against an older head: decide again if so.
		if cur, serr := s.reviewSequence(ctx); serr == nil && cur.Version != seq.Version {
			return Result{}, true, err
		}
		return Result{}, false, err
	}
	if err := cmd.Meta.CheckEffectiveOn(now); err != nil {
		return Result{}, false, err
	}
	stored, err := s.commit(ctx, cmd.Meta, now, []part{
		{stream: cmd.ReviewID.Stream(), expected: eventstore.NoStream, events: events},
		{stream: domain.ReviewSequenceStream, expected: seq.Version, events: seq.Sequence(cmd.ReviewID)},
	})
	if err != nil {
		return Result{}, conflictOn(err, domain.ReviewSequenceStream), err
	}
	// Position is the review's own event, as before the sequence existed:
	// the mark follows it (the window ends just before the review).
	mine, mark := stored[0], stored[1]
	res := Result{Stream: cmd.ReviewID.Stream(), Events: mine, Version: mine[len(mine)-1].Version,
		Position: mine[len(mine)-1].Position}
	return res, false, s.wait(ctx, res.Stream, mark[len(mark)-1].Position)
}

// reviewSequence folds [domain.ReviewSequenceStream] (one short event per
// recorded review).
func (s *Service) reviewSequence(ctx context.Context) (*domain.ReviewSequence, error) {
	seq := &domain.ReviewSequence{}
	if err := s.fold(ctx, domain.ReviewSequenceStream, seq.Apply); err != nil {
		return nil, fmt.Errorf("load %s: %w", domain.ReviewSequenceStream, err)
	}
	return seq, nil
}

// LoadReview folds a review's stream. It fails with ENOTFOUND for an
// unknown review.
func (s *Service) LoadReview(ctx context.Context, id domain.ReviewID) (*domain.ManagementReview, error) {
	if !domain.ValidID(string(id)) {
		return nil, domain.Errorf(domain.ENOTFOUND, "no management review %s", id)
	}
	r := &domain.ManagementReview{ID: id}
	if err := s.fold(ctx, id.Stream(), r.Apply); err != nil {
		return nil, fmt.Errorf("load management review %s: %w", id, err)
	}
	if !r.Exists() {
		return nil, domain.Errorf(domain.ENOTFOUND, "no management review %s", id)
	}
	return r, nil
}

// fold applies every event of stream to apply.
func (s *Service) fold(ctx context.Context, stream string, apply func(domain.Event)) error {
	stored, err := s.Store.ReadStream(ctx, stream, 1)
	if err != nil {
		return err
	}
	for _, e := range stored {
		de, err := domain.Decode(e.Type, e.Schema, e.Data)
		if err != nil {
			return fmt.Errorf("at version %d: %w", e.Version, err)
		}
		apply(de)
	}
	return nil
}

// CorrectManagementReview appends a correction of a review. ifMatch, when
// not nil, is the review's version the caller last saw. It is appended at
// the review's version as read, so of two corrections decided on one
// version one lands and the other fails with ECONFLICT (EPRECONDITION under
// If-Match). Nothing else is serialised: a correction's decision reads no
// other review, and a review recorded meanwhile that read the corrected one
// before the correction is simply ordered before it. Each added action
// gets its ActionID here if it has none. A correction that removes actions
// cancels each in its own stream (review_action.cancelled, with the
// correction's reason) in the same atomic append as the correction, each
// stream at the version decided on: nothing is written unless all of it is.
func (s *Service) CorrectManagementReview(ctx context.Context, cmd domain.CorrectManagementReview, ifMatch *int64) (Result, error) {
	for i := range cmd.AddActions {
		if cmd.AddActions[i].ActionID == "" {
			cmd.AddActions[i].ActionID = domain.ActionID(newID())
		}
	}
	log, err := s.reviewLog(ctx)
	if err != nil {
		return Result{}, err
	}
	if len(cmd.RemoveActions) == 0 {
		return s.onReview(ctx, cmd.ReviewID, ifMatch, cmd.Meta, func(r *domain.ManagementReview) ([]domain.Event, error) {
			return r.Correct(cmd, log, s.now())
		})
	}
	r, err := s.LoadReview(ctx, cmd.ReviewID)
	if err != nil {
		return Result{}, err
	}
	if ifMatch != nil && *ifMatch != r.Version {
		return Result{}, &domain.Error{Code: domain.EPRECONDITION,
			Message: fmt.Sprintf("management review %s is at version %d, not %d as the request expected", r.ID, r.Version, *ifMatch),
			Err:     &eventstore.ConflictError{Stream: r.ID.Stream(), Expected: *ifMatch, Actual: r.Version}}
	}
	now := s.now()
	if err := cmd.Meta.CheckEffectiveOn(now); err != nil {
		return Result{}, err
	}
	events, err := r.Correct(cmd, log, now)
	if err != nil {
		return Result{}, err
	}
	parts := []part{{stream: r.ID.Stream(), expected: r.Version, events: events}}
	for _, id := range cmd.RemoveActions {
		a, ok := domain.NewReviewAction(r, id)
		if !ok { // Correct refuses such an id; kept for safety
			return Result{}, domain.Errorf(domain.EINVALID, "%s is not an action of management review %s", id, r.ID)
		}
		if err := s.fold(ctx, id.Stream(), a.Apply); err != nil {
			return Result{}, fmt.Errorf("load action %s: %w", id, err)
		}
		cancel, err := a.Cancel(domain.CancelAction{Meta: cmd.Meta, ReviewID: r.ID, ActionID: id}, r.Status, now)
		if err != nil {
			return Result{}, fmt.Errorf("remove action %s: %w", id, err)
		}
		parts = append(parts, part{stream: id.Stream(), expected: a.Version, events: cancel})
	}
	stored, err := s.commit(ctx, cmd.Meta, now, parts)
	if err != nil {
		return Result{}, err
	}
	mine, last := stored[0], stored[len(stored)-1]
	res := Result{Stream: r.ID.Stream(), Events: mine, Version: mine[len(mine)-1].Version,
		Position: last[len(last)-1].Position}
	return res, s.wait(ctx, res.Stream, res.Position)
}

// VoidManagementReview voids a review recorded in error. Like a
// correction, it is appended at the review's version as read: of two
// concurrent voids one lands, the other fails with ECONFLICT.
func (s *Service) VoidManagementReview(ctx context.Context, cmd domain.VoidManagementReview, ifMatch *int64) (Result, error) {
	return s.onReview(ctx, cmd.ReviewID, ifMatch, cmd.Meta, func(r *domain.ManagementReview) ([]domain.Event, error) {
		return r.Void(cmd, s.now())
	})
}

func (s *Service) onReview(ctx context.Context, id domain.ReviewID, ifMatch *int64, meta domain.Meta,
	decide func(*domain.ManagementReview) ([]domain.Event, error)) (Result, error) {
	r, err := s.LoadReview(ctx, id)
	if err != nil {
		return Result{}, err
	}
	if ifMatch != nil && *ifMatch != r.Version {
		return Result{}, &domain.Error{Code: domain.EPRECONDITION,
			Message: fmt.Sprintf("management review %s is at version %d, not %d as the request expected", id, r.Version, *ifMatch),
			Err:     &eventstore.ConflictError{Stream: id.Stream(), Expected: *ifMatch, Actual: r.Version}}
	}
	events, err := decide(r)
	if err != nil {
		return Result{}, err
	}
	res, err := s.append(ctx, id.Stream(), r.Version, meta, events, s.now())
	var de *domain.Error
	if ifMatch != nil && errors.As(err, &de) && de.Code == domain.ECONFLICT && conflictOn(err, id.Stream()) {
		// The version the caller named was current when we loaded it, but
		// another write landed before ours: the precondition failed.
		de.Code = domain.EPRECONDITION
	}
	if res.Version == 0 {
		res.Version = r.Version
	}
	return res, err
}

// CompleteAction records that an action of a review was done.
func (s *Service) CompleteAction(ctx context.Context, cmd domain.CompleteAction) (Result, error) {
	return s.onAction(ctx, cmd.ReviewID, cmd.ActionID, cmd.Meta, func(a *domain.ReviewAction, reviewStatus string) ([]domain.Event, error) {
		return a.Complete(cmd, reviewStatus, s.now())
	})
}

// CancelAction records that an action of a review will not be done.
func (s *Service) CancelAction(ctx context.Context, cmd domain.CancelAction) (Result, error) {
	return s.onAction(ctx, cmd.ReviewID, cmd.ActionID, cmd.Meta, func(a *domain.ReviewAction, reviewStatus string) ([]domain.Event, error) {
		return a.Cancel(cmd, reviewStatus, s.now())
	})
}

// onAction loads the review and the action's own stream, decides and
// appends to the action's stream with its version as the expected one, so
// that two completions of one action cannot both land.
func (s *Service) onAction(ctx context.Context, reviewID domain.ReviewID, id domain.ActionID, meta domain.Meta,
	decide func(*domain.ReviewAction, string) ([]domain.Event, error)) (Result, error) {
	r, err := s.LoadReview(ctx, reviewID)
	if err != nil {
		return Result{}, err
	}
	a, ok := domain.NewReviewAction(r, id)
	if !ok {
		return Result{}, domain.Errorf(domain.ENOTFOUND, "no action %s in management review %s", id, reviewID)
	}
	if err := s.fold(ctx, id.Stream(), a.Apply); err != nil {
		return Result{}, fmt.Errorf("load action %s: %w", id, err)
	}
	events, err := decide(a, r.Status)
	if err != nil {
		return Result{}, err
	}
	return s.append(ctx, id.Stream(), a.Version, meta, events, s.now())
}

// ChangeSettings changes the stored settings (organisation name, ...).
func (s *Service) ChangeSettings(ctx context.Context, cmd domain.ChangeSettings) (Result, error) {
	st := &domain.Settings{}
	if err := s.fold(ctx, domain.SettingsStream, st.Apply); err != nil {
		return Result{}, fmt.Errorf("load settings: %w", err)
	}
	events, err := st.Change(cmd)
	if err != nil {
		return Result{}, err
	}
	res, err := s.append(ctx, domain.SettingsStream, st.Version, cmd.Meta, events, s.now())
	if res.Version == 0 {
		res.Version = st.Version
	}
	return res, err
}
