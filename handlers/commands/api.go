package commands

import (
	"context"

	"github.com/partyledger/partyledger/domain"
)

// The command interfaces, declared once for every edge (HTTP API, console,
// demo loader): each edge depends on the narrowest it needs, and *Service
// implements them all. Every method returns what it appended ([Result]) or
// a domain error (see [domain.ErrorCode]): EINVALID for bad input (nothing
// written), ENOTFOUND, ECONFLICT for a concurrent write or a rule another
// aggregate holds, EPRECONDITION for a failed ifMatch, and an error
// matching [ErrReadModelBehind] when the events were stored but the read
// model did not show them in time.

// RegisterCommands changes the register: parties and their requirements,
// and records management reviews.
type RegisterCommands interface {
	IdentifyParty(ctx context.Context, cmd domain.IdentifyParty) (Result, error)
	ReviseParty(ctx context.Context, cmd domain.ReviseParty, ifMatch *int64) (Result, error)
	RetireParty(ctx context.Context, cmd domain.RetireParty, ifMatch *int64) (Result, error)
	IdentifyRequirement(ctx context.Context, cmd domain.IdentifyRequirement, ifMatch *int64) (Result, error)
	ReviseRequirement(ctx context.Context, cmd domain.ReviseRequirement, ifMatch *int64) (Result, error)
	DecideAddressing(ctx context.Context, cmd domain.DecideAddressing, ifMatch *int64) (Result, error)
	RetireRequirement(ctx context.Context, cmd domain.RetireRequirement, ifMatch *int64) (Result, error)
	HoldManagementReview(ctx context.Context, cmd domain.HoldManagementReview) (Result, error)
}

// PlanCommands keeps objectives and KPIs (clause 6.2), requirement reviews
// and the communication plan and log (clause 7.4).
type PlanCommands interface {
	SetObjective(ctx context.Context, cmd domain.SetObjective) (Result, error)
	ReviseObjective(ctx context.Context, cmd domain.ReviseObjective, ifMatch *int64) (Result, error)
	DefineKPI(ctx context.Context, cmd domain.DefineKPI, ifMatch *int64) (Result, error)
	ReviseKPI(ctx context.Context, cmd domain.ReviseKPI, ifMatch *int64) (Result, error)
	MeasureKPI(ctx context.Context, cmd domain.MeasureKPI, ifMatch *int64) (Result, error)
	ReviewRequirement(ctx context.Context, cmd domain.ReviewRequirement, ifMatch *int64) (Result, error)
	PlanCommunication(ctx context.Context, cmd domain.PlanCommunication, ifMatch *int64) (Result, error)
	SendCommunication(ctx context.Context, cmd domain.SendCommunication) (Result, error)
}

// RelationshipCommands keeps the relationships between parties.
type RelationshipCommands interface {
	EstablishRelationship(ctx context.Context, cmd domain.EstablishRelationship) (Result, error)
	ReviseRelationship(ctx context.Context, cmd domain.ReviseRelationship, ifMatch *int64) (Result, error)
	EndRelationship(ctx context.Context, cmd domain.EndRelationship, ifMatch *int64) (Result, error)
}

// ReviewCommands corrects and voids management reviews, completes and
// cancels their actions (clause 9.3.3) and changes the stored settings.
type ReviewCommands interface {
	CorrectManagementReview(ctx context.Context, cmd domain.CorrectManagementReview, ifMatch *int64) (Result, error)
	VoidManagementReview(ctx context.Context, cmd domain.VoidManagementReview, ifMatch *int64) (Result, error)
	CompleteAction(ctx context.Context, cmd domain.CompleteAction) (Result, error)
	CancelAction(ctx context.Context, cmd domain.CancelAction) (Result, error)
	ChangeSettings(ctx context.Context, cmd domain.ChangeSettings) (Result, error)
}

// API is every command: what an edge that drives them all (the demo
// loader) takes.
type API interface {
	RegisterCommands
	PlanCommands
	RelationshipCommands
	ReviewCommands
}

var _ API = (*Service)(nil)
