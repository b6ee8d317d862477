package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// TokenLog is where token events are appended (an [eventstore.Store]).
type TokenLog interface {
	Append(ctx context.Context, stream string, expectedVersion int64, events []eventstore.Event) ([]eventstore.Event, error)
}

// ActorIndex tells whether a name already acts in the log (implemented by
// the read model's audit index).
type ActorIndex interface {
	ActorUsed(ctx context.Context, name string) (bool, error)
}

// appendTokenEvent appends ev to the token's stream, attributed to actor.
// expected is eventstore.NoStream for a new token: a name that differs
// only by case from an existing one then conflicts in the log itself.
func (t *Tokens) appendTokenEvent(ctx context.Context, actor, name string, expected int64, ev domain.Event) error {
	if t.Log == nil {
		return nil
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("auth: encode %s: %w", ev.EventType(), err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("auth: event id: %w", err)
	}
	if actor == "" {
		actor = "partyledger"
	}
	_, err = t.Log.Append(context.WithoutCancel(ctx), domain.TokenStream(name), expected, []eventstore.Event{{
		ID: id.String(), Type: ev.EventType(), Schema: domain.CurrentSchema, Time: t.now(),
		Actor: actor, Trigger: domain.DefaultTrigger, Data: data}})
	if errors.Is(err, eventstore.ErrConflict) {
		return nameTaken(name)
	}
	if err != nil {
		return fmt.Errorf("auth: record %s: %w", ev.EventType(), err)
	}
	return nil
}

func nameTaken(name string) error {
	return &domain.Error{Code: domain.ECONFLICT, Message: "a token named " + name + " (in any case) exists or existed, or the name acts in the log; names are never reused because they identify actors in the audit trail",
		Fields: []domain.FieldError{{Field: "name", Message: "is already used"}}}
}

func fmtExpiry(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}
