package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/partyledger/partyledger/domain"
)

// Change kinds of relationship items.
const (
	ChangeRelationshipEstablished = "relationship_established"
	ChangeRelationshipRevised     = "relationship_revised"
	ChangeRelationshipEnded       = "relationship_ended"
	// Net view only: established and ended inside the window.
	ChangeRelationshipEstablishedAndEnded = "relationship_established_and_ended"
)

// RelationshipRef names a relationship in a feed item: its ends (with the
// parties' names as they were after the event), kind and label.
type RelationshipRef struct {
	ID            string `json:"id"`
	FromPartyID   string `json:"from_party_id"`
	FromPartyName string `json:"from_party_name"`
	ToPartyID     string `json:"to_party_id"`
	ToPartyName   string `json:"to_party_name"`
	Kind          string `json:"kind"`
	Label         string `json:"label"`
}

// feedRelationships is the part of the feed projection for relationships.
// It keeps each relationship's ends, kind and label in change_relationships,
// written straight to the batch's transaction.
type feedRelationships struct {
	heldStmts
	sel, up *sql.Stmt
	// mem keeps the names instead when there is no transaction (the
	// history read from the log alone, [HistoryFromLog]).
	mem map[string]RelationshipRef
}

func (o *feedRelationships) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	if o.sel, err = o.prepare(ctx, tx, `SELECT from_party_id, to_party_id, kind, label
		FROM change_relationships WHERE id = ?`); err != nil {
		return err
	}
	o.up, err = o.prepare(ctx, tx, `INSERT INTO change_relationships (id, from_party_id, to_party_id, kind, label)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, label = excluded.label`)
	return err
}

func (o *feedRelationships) end() { o.sel, o.up = nil, nil }

// relationshipItem builds the feed item of a relationship event: item
// arrives with the envelope's fields set. The item's Party is the
// relationship's "from" party; Relationship names both ends.
func (f *feed) relationshipItem(ctx context.Context, de domain.Event, item ChangeItem) (ChangeItem, bool, error) {
	o := &f.rel
	var ref RelationshipRef
	switch e := de.(type) {
	case domain.RelationshipEstablished:
		ref = RelationshipRef{ID: string(e.RelationshipID), FromPartyID: string(e.FromPartyID),
			ToPartyID: string(e.ToPartyID), Kind: e.Kind, Label: e.Label}
		item.Change = ChangeRelationshipEstablished
		item.Changes = fieldChanges(domain.RelationshipFields, domain.Changes{
			"from_party_id": {To: ref.FromPartyID}, "to_party_id": {To: ref.ToPartyID},
			"kind": {To: e.Kind}, "label": {To: e.Label}, "description": {To: e.Description},
			"status": {To: domain.StatusActive}})
	case domain.RelationshipRevised:
		var err error
		if ref, err = o.load(ctx, string(e.RelationshipID)); err != nil {
			return item, false, err
		}
		for field, c := range e.Changes {
			switch field {
			case "kind":
				ref.Kind, _ = c.To.(string)
			case "label":
				ref.Label, _ = c.To.(string)
			}
		}
		item.Change, item.Changes = ChangeRelationshipRevised, fieldChanges(domain.RelationshipFields, e.Changes)
	case domain.RelationshipEnded:
		var err error
		if ref, err = o.load(ctx, string(e.RelationshipID)); err != nil {
			return item, false, err
		}
		item.Change, item.Changes = ChangeRelationshipEnded, fieldChanges(domain.RelationshipFields, e.Changes)
	default:
		return item, false, nil
	}
	if o.up == nil {
		if o.mem == nil {
			o.mem = map[string]RelationshipRef{}
		}
		o.mem[ref.ID] = ref
	} else if _, err := o.up.ExecContext(ctx, ref.ID, ref.FromPartyID, ref.ToPartyID, ref.Kind, ref.Label); err != nil {
		return item, false, fmt.Errorf("write relationship names %s: %w", ref.ID, err)
	}
	from, err := f.party(ctx, ref.FromPartyID)
	if err != nil {
		return item, false, err
	}
	to, err := f.party(ctx, ref.ToPartyID)
	if err != nil {
		return item, false, err
	}
	ref.FromPartyName, ref.ToPartyName = from.ref.Name, to.ref.Name
	item.Party, item.Relationship = from.ref, &ref
	return item, true, nil
}

// load returns the relationship as the feed last named it; one it has never
// seen (a log that starts mid-stream) is named by id alone.
func (o *feedRelationships) load(ctx context.Context, id string) (RelationshipRef, error) {
	ref := RelationshipRef{ID: id}
	if o.sel == nil {
		if m, ok := o.mem[id]; ok {
			ref = m
			ref.FromPartyName, ref.ToPartyName = "", ""
		}
		return ref, nil
	}
	err := o.sel.QueryRowContext(ctx, id).Scan(&ref.FromPartyID, &ref.ToPartyID, &ref.Kind, &ref.Label)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ref, fmt.Errorf("load relationship names %s: %w", id, err)
	}
	return ref, nil
}

// relationshipColumns are the changes.relationship_id and .relationship
// columns of an item: NULL for items that are not about a relationship.
func relationshipColumns(ref *RelationshipRef) (id, js any, err error) {
	if ref == nil {
		return nil, nil, nil
	}
	b, err := json.Marshal(ref)
	if err != nil {
		return nil, nil, fmt.Errorf("encode relationship: %w", err)
	}
	return ref.ID, string(b), nil
}

// decodeRelationship reads the changes.relationship column.
func decodeRelationship(s sql.NullString) (*RelationshipRef, error) {
	if !s.Valid {
		return nil, nil
	}
	var ref RelationshipRef
	if err := json.Unmarshal([]byte(s.String), &ref); err != nil {
		return nil, err
	}
	return &ref, nil
}
