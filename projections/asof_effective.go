package projections

import (
	"context"
	"fmt"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Axis is the time axis an [AsOf] moment is read on.
//
// On the recorded axis (the default) the register at a moment is what the
// register said then: the events recorded at or before it. On the effective
// axis it is what was true then, as known now: every event recorded so
// far whose effective date ([eventstore.Event.EffectiveDate]: the
// command's effective_on, else the recording date) is on or before the
// moment's UTC date. Effective dates have day resolution, so an effective
// moment stands for the end of its day. The events are folded in log
// order, by the same fold ([FoldRegister]) and rules as the recorded axis:
// a change dated before the party it belongs to was identified (on the
// effective axis) is left out with it.
type Axis string

// The axes of [AsOf].
const (
	AxisRecorded  Axis = "recorded"
	AxisEffective Axis = "effective"
)

// ParseAxis reads "recorded", "effective" or "" (recorded). It returns an
// EINVALID *domain.Error naming field.
func ParseAxis(field, s string) (Axis, error) {
	switch Axis(s) {
	case "", AxisRecorded:
		return AxisRecorded, nil
	case AxisEffective:
		return AxisEffective, nil
	}
	return "", &domain.Error{Code: domain.EINVALID, Message: "invalid " + field,
		Fields: []domain.FieldError{{Field: field, Message: "must be recorded or effective"}}}
}

// WithAxis returns a on axis. The effective axis needs a time or date (a
// log position has no effective date): for a position it returns an
// EINVALID *domain.Error naming field.
func (a AsOf) WithAxis(field string, axis Axis) (AsOf, error) {
	if axis == AxisEffective && a.Time.IsZero() {
		return a, &domain.Error{Code: domain.EINVALID, Message: "invalid " + field,
			Fields: []domain.FieldError{{Field: field, Message: "axis=effective needs a date or time, not a position"}}}
	}
	a.Axis = axis
	return a, nil
}

// effectiveDay is the last effective date the moment includes.
func (a AsOf) effectiveDay() string { return a.Time.UTC().Format(eventstore.DateLayout) }

// includesEffective reports whether ev took effect on or before the
// moment's date.
func (a AsOf) includesEffective(ev *eventstore.Event) bool {
	return ev.EffectiveDate() <= a.effectiveDay()
}

// registerEffective is RegisterAsOf on the effective axis: the one
// register fold over the whole log as it stands, keeping the events that
// took effect by the moment. Snapshots of the recorded axis are not used.
func (m *ReadModel) registerEffective(ctx context.Context, at AsOf, f PartyFilter) ([]PartyView, error) {
	head, _, err := m.store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projections: effective as of %s: head: %w", at, err)
	}
	s, err := FoldRegister(ctx, m.store, at, head)
	if err != nil {
		return nil, err
	}
	return s.Register(f)
}
