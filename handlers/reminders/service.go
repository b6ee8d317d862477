package reminders

import (
	"context"

	"github.com/partyledger/partyledger/domain"
)

// Service puts contacts, planner and runner behind one value for the HTTP
// API and the CLI.
type Service struct {
	Contacts *Contacts
	Planner  *Planner
	Runner   *Runner
}

// SetOwnerContacts replaces the e-mail addresses of owner (see
// [Contacts.Set]); the API and the console both call it. Without a reason
// the event says "owner contacts set".
func (s *Service) SetOwnerContacts(ctx context.Context, owner string, emails []string, meta domain.Meta) (Owner, error) {
	if meta.Reason == "" {
		meta.Reason = "owner contacts set"
	}
	return s.Contacts.Set(ctx, owner, emails, meta)
}

// Owners lists the owners with contacts and the owner names in use without
// any.
func (s *Service) Owners(ctx context.Context) ([]Owner, error) {
	names, err := OwnerNames(ctx, s.Planner.Sources, s.Planner.Actions)
	if err != nil {
		return nil, err
	}
	return s.Contacts.List(ctx, names)
}

// Due lists what is due per owner now, with each owner's addresses.
func (s *Service) Due(ctx context.Context, owner string) ([]OwnerItems, error) {
	due, err := s.Planner.Due(ctx, s.Runner.now(), s.Runner.loc(), owner)
	if err != nil {
		return nil, err
	}
	rec, err := s.Contacts.Recorded(ctx)
	if err != nil {
		return nil, err
	}
	for i := range due {
		if c, ok := rec[domain.OwnerKey(due[i].Owner)]; ok {
			due[i].Emails = c.Emails
		}
	}
	return due, nil
}

// Run sends (or, dry, lists) the digests now (see [Runner.Run]).
func (s *Service) Run(ctx context.Context, o RunOptions) (Report, error) { return s.Runner.Run(ctx, o) }

// Outcomes lists the recorded digests, newest first.
func (s *Service) Outcomes(ctx context.Context, limit int) ([]Outcome, error) {
	return s.Runner.Outcomes(ctx, limit)
}
