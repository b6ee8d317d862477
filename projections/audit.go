package projections

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// auditIndex projects every event of the log, whatever its type, into the
// audit_index table: its position and the keys the audit trail filters on
// (stream, party, requirement, type, actor, trigger, time). The envelopes
// themselves stay in the event store, which the audit trail reads by
// position.
//
// For time ranges it keeps tmax, the latest event time up to each
// position. tmax never decreases, so a time bound becomes a position bound
// found in the tmax index; the rare event stamped earlier than an event
// before it (clocks, concurrent commits) is flagged late and found through
// a small partial index. See [ReadModel.EventPositions].
type auditIndex struct {
	ins       *rowBuffer // audit_index, written in multi-row INSERTs
	tmax      string     // tmax of the last applied event
	tmaxKnown bool       // tmax is loaded (false after a failed batch or a wipe)
}

func newAuditIndex() *auditIndex {
	return &auditIndex{ins: newRowBuffer(`INSERT INTO audit_index (position, stream, party_id,
			requirement_id, type, actor, "trigger", time, tmax, late) VALUES `,
		` ON CONFLICT (position) DO NOTHING`, 10, 64)}
}

func (a *auditIndex) useStmts(c *stmtCache) { a.ins.useStmts(c) }

func (a *auditIndex) name() string      { return "audit" }
func (a *auditIndex) tables() []string  { return []string{"audit_index"} }
func (a *auditIndex) setCacheLimit(int) {}
func (a *auditIndex) flush(ctx context.Context) error {
	if err := a.ins.flush(ctx); err != nil {
		return fmt.Errorf("write audit index: %w", err)
	}
	return nil
}

// everyEvent marks the audit index as taking events of types this code does
// not know (with a nil domain event): the trail must show every event.
func (a *auditIndex) everyEvent() {}

// everyEventProjection is a projection that is also applied to events whose
// type this code does not decode.
type everyEventProjection interface{ everyEvent() }

// wantsEveryEvent reports whether p is applied to undecoded events too.
func wantsEveryEvent(p projection) bool {
	_, ok := p.(everyEventProjection)
	return ok
}

func (a *auditIndex) begin(ctx context.Context, tx *sql.Tx) error {
	a.ins.begin(tx)
	if a.tmaxKnown {
		return nil
	}
	err := tx.QueryRowContext(ctx, `SELECT tmax FROM audit_index ORDER BY position DESC LIMIT 1`).Scan(&a.tmax)
	if errors.Is(err, sql.ErrNoRows) {
		a.tmax, err = "", nil
	}
	if err != nil {
		return fmt.Errorf("load tmax: %w", err)
	}
	a.tmaxKnown = true
	return nil
}

func (a *auditIndex) end(committed bool) {
	a.ins.end()
	if !committed {
		a.tmaxKnown = false
	}
}

func (a *auditIndex) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	party, req := auditKeys(ev, de)
	at := formatTime(ev.Time)
	late := 0
	if at < a.tmax {
		late = 1
	} else {
		a.tmax = at
	}
	return a.ins.add(ctx, ev.Position, ev.Stream, nullIfEmpty(party), nullIfEmpty(req),
		ev.Type, ev.Actor, ev.Trigger, at, a.tmax, late)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AuditKeys returns the party and requirement an event is about, as the
// audit trail filters them: the party of a party-<id> stream, and the
// requirement_id of the event's data ("" when there is none).
func AuditKeys(ev *eventstore.Event) (partyID, requirementID string) {
	return auditKeys(ev, nil)
}

// auditKeys is AuditKeys with the event's data already decoded (de may be
// nil): requirement events give their requirement directly, others are
// read for a "requirement_id" member, so that other types naming a
// requirement (and types added later) are indexed by it too.
func auditKeys(ev *eventstore.Event, de domain.Event) (partyID, requirementID string) {
	partyID, _ = strings.CutPrefix(ev.Stream, domain.PartyStreamPrefix)
	if partyID == ev.Stream {
		partyID = ""
	}
	if de != nil {
		if _, rid, ok := target(de); ok {
			return partyID, string(rid)
		}
	}
	var keys struct {
		RequirementID any `json:"requirement_id"`
	}
	if json.Unmarshal(ev.Data, &keys) == nil {
		if s, ok := keys.RequirementID.(string); ok {
			requirementID = s
		}
	}
	return partyID, requirementID
}

// Page sizes of [ReadModel.EventPositions].
const (
	DefaultEventLimit = 100
	MaxEventLimit     = 500
)

// EventFilter selects events of the audit trail. Empty fields do not
// filter; the others combine with AND.
type EventFilter struct {
	Party       string    // events of the stream party-<Party>
	Requirement string    // events whose data names this requirement
	Stream      string    // events of this stream
	Type        string    // e.g. requirement.revised
	Actor       string    // who
	Trigger     string    // what caused it
	From        time.Time // time >= From
	To          time.Time // time <= To
	After       int64     // position > After (the paging cursor)
	Limit       int       // page size: 1 to MaxEventLimit; 0 means DefaultEventLimit
}

// Validate returns an EINVALID *domain.Error naming every bad field.
func (f EventFilter) Validate() error {
	var bad []domain.FieldError
	if f.Limit < 0 || f.Limit > MaxEventLimit {
		bad = append(bad, domain.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxEventLimit)})
	}
	if f.After < 0 {
		bad = append(bad, domain.FieldError{Field: "after", Message: "must be a position >= 0"})
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		bad = append(bad, domain.FieldError{Field: "to", Message: "must not be before from"})
	}
	if len(bad) > 0 {
		return &domain.Error{Code: domain.EINVALID, Message: "invalid event filter", Fields: bad}
	}
	return nil
}

// Matches reports whether ev passes the filter (ignoring After and Limit).
// It is the definition the index implements: a scan of the log with
// Matches selects the same events as [ReadModel.EventPositions].
func (f EventFilter) Matches(ev *eventstore.Event) bool {
	if (f.Stream != "" && ev.Stream != f.Stream) || (f.Type != "" && ev.Type != f.Type) ||
		(f.Actor != "" && ev.Actor != f.Actor) || (f.Trigger != "" && ev.Trigger != f.Trigger) {
		return false
	}
	at := formatTime(ev.Time)
	if (!f.From.IsZero() && at < formatTime(f.From)) || (!f.To.IsZero() && at > formatTime(f.To)) {
		return false
	}
	if f.Party != "" || f.Requirement != "" {
		party, req := AuditKeys(ev)
		if (f.Party != "" && party != f.Party) || (f.Requirement != "" && req != f.Requirement) {
			return false
		}
	}
	return true
}

// auditKeyIndexes are the equality filters of the audit index, most
// selective first: the first one a filter uses leads the query (its index
// is read in position order), the others are checked on its rows.
var auditKeyIndexes = []struct{ col, index string }{
	{"requirement_id", "audit_requirement"},
	{"party_id", "audit_party"},
	{"stream", "audit_stream"},
	{"actor", "audit_actor"},
	{`"trigger"`, "audit_trigger"},
	{"type", "audit_type"},
}
