package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// RequirementReads is what the objective commands need from the read model
// beyond [ReadModel]: the status of the requirements an objective links to.
// *projections.ReadModel implements it. When Reads does not, linked
// requirements are only checked to be UUIDs.
type RequirementReads interface {
	RequirementStatus(ctx context.Context, id string) (status string, err error)
}

// SetObjective sets a new objective (clause 6.2). The command's ObjectiveID
// is set here if empty. Linked requirements must exist and be active in the
// register as it stands at the head of the log.
func (s *Service) SetObjective(ctx context.Context, cmd domain.SetObjective) (Result, error) {
	if cmd.ObjectiveID == "" {
		cmd.ObjectiveID = domain.ObjectiveID(newID())
	}
	dir, err := s.requirements(ctx, cmd.RequirementIDs)
	if err != nil {
		return Result{}, err
	}
	return execute(ctx, s, command[domain.Objective]{
		stream: cmd.ObjectiveID.Stream(), meta: cmd.Meta, fresh: true,
		decide: func(o *domain.Objective, now time.Time) ([]domain.Event, error) { return o.Set(cmd, dir, now) },
	})
}

// ReviseObjective changes an objective: status, re-targeting, linked
// requirements. ifMatch, when not nil, is the version the caller last saw
// (HTTP If-Match); a different current version fails with EPRECONDITION.
func (s *Service) ReviseObjective(ctx context.Context, cmd domain.ReviseObjective, ifMatch *int64) (Result, error) {
	var ids []domain.RequirementID
	if cmd.RequirementIDs != nil {
		ids = *cmd.RequirementIDs
	}
	dir, err := s.requirements(ctx, ids)
	if err != nil {
		return Result{}, err
	}
	return s.onObjective(ctx, cmd.ObjectiveID, ifMatch, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) {
		return o.Revise(cmd, dir, now)
	})
}

// DefineKPI adds a KPI to an objective. The command's KPIID is set here if
// empty.
func (s *Service) DefineKPI(ctx context.Context, cmd domain.DefineKPI, ifMatch *int64) (Result, error) {
	if cmd.KPIID == "" {
		cmd.KPIID = domain.KPIID(newID())
	}
	return s.onObjective(ctx, cmd.ObjectiveID, ifMatch, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) {
		return o.DefineKPI(cmd, now)
	})
}

// ReviseKPI changes a KPI of an objective.
func (s *Service) ReviseKPI(ctx context.Context, cmd domain.ReviseKPI, ifMatch *int64) (Result, error) {
	return s.onObjective(ctx, cmd.ObjectiveID, ifMatch, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) {
		return o.ReviseKPI(cmd, now)
	})
}

// MeasureKPI records a measurement of a KPI, or a correction of one. The
// command's MeasurementID is set here if empty.
func (s *Service) MeasureKPI(ctx context.Context, cmd domain.MeasureKPI, ifMatch *int64) (Result, error) {
	if cmd.MeasurementID == "" {
		cmd.MeasurementID = domain.MeasurementID(newID())
	}
	return s.onObjective(ctx, cmd.ObjectiveID, ifMatch, cmd.Meta, func(o *domain.Objective, now time.Time) ([]domain.Event, error) {
		return o.Measure(cmd, now)
	})
}

// onObjective runs a decision on an existing objective through [execute].
func (s *Service) onObjective(ctx context.Context, id domain.ObjectiveID, ifMatch *int64, meta domain.Meta,
	decide func(*domain.Objective, time.Time) ([]domain.Event, error)) (Result, error) {
	notFound := func() error { return domain.Errorf(domain.ENOTFOUND, "no objective %s", id) }
	if !domain.ValidID(string(id)) {
		return Result{}, notFound()
	}
	return execute(ctx, s, command[domain.Objective]{
		stream: id.Stream(), meta: meta, ifMatch: ifMatch,
		exists: (*domain.Objective).Exists, notFound: notFound, decide: decide,
	})
}

// requirements answers the objective decisions' questions about the
// requirements in ids, from the read model brought up to the head of the
// log. It returns nil (no directory) when the read model cannot answer.
func (s *Service) requirements(ctx context.Context, ids []domain.RequirementID) (domain.RequirementDirectory, error) {
	rr, ok := s.Reads.(RequirementReads)
	if !ok {
		return nil, nil
	}
	d := requirementDirectory{}
	if len(ids) == 0 {
		return d, nil
	}
	head, _, err := s.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	if err := s.waitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("wait for read model: %w", err)
	}
	for i, id := range ids {
		if i > domain.MaxLinkedRequirements {
			break // the decision refuses the list anyway
		}
		if _, seen := d[id]; seen || !domain.ValidID(string(id)) {
			continue
		}
		status, err := rr.RequirementStatus(ctx, string(id))
		if err != nil {
			return nil, fmt.Errorf("look up requirement %s: %w", id, err)
		}
		d[id] = status
	}
	return d, nil
}

// requirementDirectory is a domain.RequirementDirectory over the answers
// fetched for one command.
type requirementDirectory map[domain.RequirementID]string

func (d requirementDirectory) RequirementStatus(id domain.RequirementID) string { return d[id] }
