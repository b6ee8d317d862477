package commands

import (
	"context"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// ReviewRequirement records a periodic review of a requirement. With
// outcome changed the revision and the review, with outcome retired the
// retirement and the review, are appended together (one append, all or
// nothing). The trigger defaults to periodic_review.
func (s *Service) ReviewRequirement(ctx context.Context, cmd domain.ReviewRequirement, ifMatch *int64) (Result, error) {
	if cmd.Trigger == "" {
		cmd.Trigger = domain.ReviewTrigger
	}
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.ReviewRequirement(cmd, now)
	})
}

// PlanCommunication adds an entry to a party's communication plan (clause
// 7.4). The command's PlanEntryID is set here if empty.
func (s *Service) PlanCommunication(ctx context.Context, cmd domain.PlanCommunication, ifMatch *int64) (Result, error) {
	if cmd.PlanEntryID == "" {
		cmd.PlanEntryID = domain.PlanEntryID(newID())
	}
	return s.onParty(ctx, cmd.PartyID, ifMatch, cmd.Meta, func(p *domain.Party, now time.Time) ([]domain.Event, error) {
		return p.PlanCommunication(cmd, now)
	})
}

// SendCommunication records a communication with a party in its own stream.
// The command's CommunicationID is set here if empty. An unknown party or a
// plan entry that is not the party's is invalid input (EINVALID, naming
// party_id or plan_entry_id).
func (s *Service) SendCommunication(ctx context.Context, cmd domain.SendCommunication) (Result, error) {
	if cmd.CommunicationID == "" {
		cmd.CommunicationID = domain.CommunicationID(newID())
	}
	party, err := s.LoadParty(ctx, cmd.PartyID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		party, err = &domain.Party{}, nil // the decision names the field
	}
	if err != nil {
		return Result{}, err
	}
	return execute(ctx, s, command[domain.Communication]{
		stream: cmd.CommunicationID.Stream(), meta: cmd.Meta, fresh: true,
		decide: func(c *domain.Communication, now time.Time) ([]domain.Event, error) { return c.Send(cmd, party, now) },
	})
}
