package console

import (
	"context"

	"github.com/partyledger/partyledger/handlers/report"
	"github.com/partyledger/partyledger/projections"
)

// Every read-model method the console uses is declared in this file, so a
// change of the read model's signatures (paging) touches one place.

// Reads answers the console's queries (implemented by
// *projections.ReadModel).
type Reads interface {
	Party(ctx context.Context, id string) (projections.PartyView, error)
	Register(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
	Reviews(ctx context.Context) ([]projections.ReviewView, error)
	Review(ctx context.Context, id string) (projections.ReviewView, error)
	LastReview(ctx context.Context) (projections.ReviewView, bool, error)
	Changes(ctx context.Context, w projections.Window) ([]projections.ChangeItem, error)
	Checkpoint(ctx context.Context) (int64, error)
	// EachRegisterParty and CountParties page the register in SQL
	// (projections/pages.go), so a register page reads 50 parties, not 10k.
	EachRegisterParty(ctx context.Context, f projections.PartyFilter, pg projections.Page, fn func(projections.PartyView) error) (projections.Cursor, error)
	CountParties(ctx context.Context, f projections.PartyFilter) (int, error)
	// EachChange and NetPage page the change feed as the API does.
	EachChange(ctx context.Context, w projections.Window, fn func(projections.ChangeItem) error) error
	NetPage(ctx context.Context, w projections.Window, offset, limit int) ([]projections.NetItem, int, error)
}

// Audit answers a party's history and the register as of a past time
// (implemented by *projections.ReadModel).
type Audit interface {
	History(ctx context.Context, partyID, requirementID string) ([]projections.ChangeItem, error)
	RegisterAsOf(ctx context.Context, at projections.AsOf, f projections.PartyFilter) ([]projections.PartyView, error)
}

// Reports builds the management review change report (implemented by
// *report.Builder, as for the API's download).
type Reports interface {
	Build(ctx context.Context, req report.Request) (*report.Report, error)
}

// changesIn returns the detailed feed of the window given by since/until
// expressions (see [projections.ResolveWindow]) and its bounds.
func (s *Server) changesIn(ctx context.Context, since, until string) ([]projections.ChangeItem, projections.Bound, projections.Bound, error) {
	win, sb, ub, err := projections.ResolveWindow(ctx, s.Reads, since, until)
	if err != nil || win.Until < 0 {
		return nil, sb, ub, err
	}
	items, err := s.Reads.Changes(ctx, win)
	return items, sb, ub, err
}

// register returns the register, as of a past moment when at is non-nil.
func (s *Server) register(ctx context.Context, f projections.PartyFilter, at *projections.AsOf) ([]projections.PartyView, error) {
	if at != nil && s.Audit != nil {
		return s.Audit.RegisterAsOf(ctx, *at, f)
	}
	return s.Reads.Register(ctx, f)
}

// Plans answers the objective, requirement-review and communication
// queries (clauses 6.2, 7.4; implemented by *projections.ReadModel).
type Plans interface {
	Objectives(ctx context.Context, f projections.ObjectiveFilter) ([]projections.ObjectiveView, error)
	Objective(ctx context.Context, id string, trend int) (projections.ObjectiveView, error)
	ReviewsDue(ctx context.Context, today, until string) ([]projections.OwnerReviews, error)
	Communications(ctx context.Context, f projections.CommunicationFilter) ([]projections.CommunicationView, error)
	OverdueCommunications(ctx context.Context, partyID, today string) ([]projections.PlanEntryView, error)
	// Actions lists management-review actions (status "open" includes the
	// overdue ones, flagged); see [projections.ReadModel.Actions].
	Actions(ctx context.Context, status, today string) ([]projections.ActionView, error)
}
