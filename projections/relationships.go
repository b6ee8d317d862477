package projections

import (
	"context"
	"database/sql"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// relationships projects the relationship streams (relationship.established,
// .revised, .ended) into the relationships table. A party's retirement
// changes no row here: queries of the current map join the parties table and
// leave out relationships with a retired end, so un-retiring (should it ever
// exist) or history need no second copy.
type relationships struct {
	heldStmts
	ins, rev, stop *sql.Stmt
}

func newRelationships() *relationships { return &relationships{} }

func (r *relationships) name() string                { return "relationships" }
func (r *relationships) tables() []string            { return []string{"relationships"} }
func (r *relationships) setCacheLimit(int)           {}
func (r *relationships) flush(context.Context) error { return nil }
func (r *relationships) end(bool)                    { r.ins, r.rev, r.stop = nil, nil, nil }

func (r *relationships) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	if r.ins, err = r.prepare(ctx, tx, `INSERT INTO relationships (id, version, position, from_party_id,
			to_party_id, kind, label, description, status, established_at, established_by, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?) ON CONFLICT (id) DO NOTHING`); err != nil {
		return err
	}
	// Revisions set every field a change names; COALESCE keeps the others.
	// The version guard makes a redelivered event a no-op.
	if r.rev, err = r.prepare(ctx, tx, `UPDATE relationships SET version = ?, kind = COALESCE(?, kind),
			label = COALESCE(?, label), description = COALESCE(?, description), updated_at = ?,
			revised_at_position = ?
		WHERE id = ? AND version < ?`); err != nil {
		return err
	}
	r.stop, err = r.prepare(ctx, tx, `UPDATE relationships SET version = ?, status = 'ended', updated_at = ?,
			ended_at_position = ?
		WHERE id = ? AND version < ?`)
	return err
}

func (r *relationships) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	at := formatTime(ev.Time)
	switch e := de.(type) {
	case domain.RelationshipEstablished:
		_, err := r.ins.ExecContext(ctx, string(e.RelationshipID), ev.Version, ev.Position, string(e.FromPartyID),
			string(e.ToPartyID), e.Kind, e.Label, e.Description, at, ev.Actor, at)
		return err
	case domain.RelationshipRevised:
		field := func(name string) any {
			if c, ok := e.Changes[name]; ok {
				s, _ := c.To.(string)
				return s
			}
			return nil
		}
		_, err := r.rev.ExecContext(ctx, ev.Version, field("kind"), field("label"), field("description"), at,
			ev.Position, string(e.RelationshipID), ev.Version)
		return err
	case domain.RelationshipEnded:
		_, err := r.stop.ExecContext(ctx, ev.Version, at, ev.Position, string(e.RelationshipID), ev.Version)
		return err
	}
	return nil
}
