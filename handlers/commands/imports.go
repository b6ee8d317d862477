package commands

import (
	"context"
	"fmt"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/importer"
)

// ActiveParties lists the ids of the active parties (from the read model).
// [Service.Import] calls it only for an import with retire_missing.
type ActiveParties func(ctx context.Context) ([]domain.PartyID, error)

// Import plans an import of t against the register and, unless dryRun is
// set or the plan has errors, appends every event of the plan in ONE
// atomic multi-stream append: each party stream at the version the plan
// was decided on, together with the name claims and releases its events
// imply (the same reservations as [Service.IdentifyParty] and
// [Service.RetireParty]), so that an import can neither be left half done
// nor create a second active party with a name taken meanwhile. A
// concurrent change to one of the streams fails the whole import with
// ECONFLICT and writes nothing.
//
// opts.Now is set here (the server clock). The returned plan is the
// answer's body; Result.Position is the last appended event's position (0
// when nothing was written). The import waits for the read model as every
// command does.
func (s *Service) Import(ctx context.Context, t *importer.Table, opts importer.Options, dryRun bool, active ActiveParties) (*importer.Plan, Result, error) {
	opts.Now = s.now()
	reg := importRegister{s: s, active: active}
	plan, err := (&importer.Planner{Register: reg}).Plan(ctx, t, opts)
	if err != nil {
		return nil, Result{}, fmt.Errorf("import: %w", err)
	}
	plan.DryRun = dryRun
	if dryRun || len(plan.Errors) > 0 || plan.Events() == 0 {
		return plan, Result{}, nil
	}
	// Each event's envelope carries its own step's meta (a row's trigger).
	metas := map[domain.PartyID][]domain.Meta{}
	for _, st := range plan.Steps {
		for range st.Events {
			metas[st.PartyID] = append(metas[st.PartyID], st.Meta)
		}
	}
	var parts, claims []part
	for _, a := range plan.Appends {
		if len(a.Events) == 0 {
			continue
		}
		parts = append(parts, part{stream: a.Stream, expected: a.ExpectedVersion, events: a.Events, metas: metas[a.PartyID]})
		before := &domain.Party{}
		if a.ExpectedVersion > 0 {
			if before, err = s.LoadParty(ctx, a.PartyID); err != nil {
				return nil, Result{}, fmt.Errorf("import: %w", err)
			}
		}
		rs, err := s.reservations(ctx, before, a.Events)
		if err != nil {
			return nil, Result{}, fmt.Errorf("import: %w", err)
		}
		claims = append(claims, rs...)
	}
	meta := domain.Meta{Actor: opts.Actor, Reason: plan.Steps[0].Meta.Reason, Trigger: opts.Trigger, CorrelationID: opts.CorrelationID}
	stored, err := s.commit(ctx, meta, opts.Now, append(parts, claims...))
	if err != nil {
		return nil, Result{}, fmt.Errorf("import: %w", err)
	}
	var res Result
	for _, evs := range stored {
		for _, ev := range evs {
			res.Events = append(res.Events, ev)
			res.Position = max(res.Position, ev.Position)
		}
	}
	return plan, res, s.wait(ctx, "import", res.Position)
}

// importRegister is the register the importer plans against: a party found
// by name in the read model, folded from its stream through the fold cache
// (so its Version is the version an append must expect).
type importRegister struct {
	s      *Service
	active ActiveParties
}

func (r importRegister) PartyByName(ctx context.Context, key string) (*domain.Party, error) {
	id, ok, err := r.s.Reads.ActivePartyByName(ctx, key)
	if err != nil || !ok {
		return nil, err
	}
	p, err := r.s.LoadParty(ctx, domain.PartyID(id))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, nil
	}
	return p, err
}

func (r importRegister) ActiveParties(ctx context.Context) ([]*domain.Party, error) {
	if r.active == nil {
		return nil, fmt.Errorf("import: retire_missing needs the list of active parties")
	}
	ids, err := r.active(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*domain.Party, 0, len(ids))
	for _, id := range ids {
		p, err := r.s.LoadParty(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
