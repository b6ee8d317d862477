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
	ins       *sql.Stmt
	tmax      string // tmax of the last applied event
	tmaxKnown bool   // tmax is loaded (false after a failed batch or a wipe)
}

func newAuditIndex() *auditIndex { return &auditIndex{} }

func (a *auditIndex) name() string      { return "audit" }
func (a *auditIndex) tables() []string  { return []string{"audit_index"} }
func (a *auditIndex) setCacheLimit(int) {}
func (a *auditIndex) flush(context.Context) error {
	return nil // apply writes directly: one row per event
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
	var err error
	a.ins, err = tx.PrepareContext(ctx, `INSERT INTO audit_index (position, stream, party_id,
			requirement_id, type, actor, "trigger", time, tmax, late)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING`)
	if err != nil || a.tmaxKnown {
		return err
	}
	err = tx.QueryRowContext(ctx, `SELECT tmax FROM audit_index ORDER BY position DESC LIMIT 1`).Scan(&a.tmax)
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
	a.ins = nil
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
	_, err := a.ins.ExecContext(ctx, ev.Position, ev.Stream, nullIfEmpty(party), nullIfEmpty(req),
		ev.Type, ev.Actor, ev.Trigger, at, a.tmax, late)
	return err
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

// EventPositions returns the positions of the events that match f, after
// f.After, in position order, at most f.Limit of them (0: the default);
// more reports whether further events match. It returns EINVALID for a bad
// filter. It reads the audit index only: pass the positions to the event
// store for the envelopes.
//
// Plans are chosen here, not left to SQLite (the read model keeps no
// statistics): the most selective equality filter leads through its
// (column, position) index, from the cursor on; a time range becomes a
// position range through tmax, and events stamped out of order are found
// through the small late index, which carries their times.
func (m *ReadModel) EventPositions(ctx context.Context, f EventFilter) (positions []int64, more bool, err error) {
	if err := f.Validate(); err != nil {
		return nil, false, err
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultEventLimit
	}
	vals := map[string]string{"requirement_id": f.Requirement, "party_id": f.Party, "stream": f.Stream,
		"actor": f.Actor, `"trigger"`: f.Trigger, "type": f.Type}
	lead := ""
	var eqs []string
	var eqArgs []any
	for _, k := range auditKeyIndexes {
		if v := vals[k.col]; v != "" {
			if lead == "" {
				lead = k.index
			}
			eqs, eqArgs = append(eqs, k.col+" = ?"), append(eqArgs, v)
		}
	}
	lower := f.After // position > lower
	var timeConds []string
	var timeArgs []any
	if !f.From.IsZero() {
		from := formatTime(f.From)
		// Every event before the first position whose tmax reaches from
		// is stamped before from.
		var lo int64
		err := m.db.QueryRowContext(ctx, `SELECT position FROM audit_index WHERE tmax >= ?
			ORDER BY tmax, position LIMIT 1`, from).Scan(&lo)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("projections: events: %w", err)
		}
		lower = max(lower, lo-1)
		timeConds, timeArgs = append(timeConds, "time >= ?"), append(timeArgs, from)
	}
	// part renders one SELECT of positions over an index with conditions.
	part := func(index string, lower int64, conds []string, args []any) (string, []any) {
		from := "audit_index"
		if index != "" {
			from += " INDEXED BY " + index
		}
		all := append([]string{"position > ?"}, conds...)
		all = append(all, eqs...)
		all = append(all, timeConds...)
		a := append([]any{lower}, args...)
		a = append(a, eqArgs...)
		a = append(a, timeArgs...)
		return `SELECT position FROM ` + from + ` WHERE ` + strings.Join(all, " AND ") +
			` ORDER BY position LIMIT ?`, append(a, limit+1)
	}
	var q string
	var args []any
	if f.To.IsZero() {
		q, args = part(lead, lower, nil, nil)
	} else {
		to := formatTime(f.To)
		// Up to hi, tmax <= to: time bounds position. After hi only late
		// events can be stamped at or before to.
		var hi int64
		err := m.db.QueryRowContext(ctx, `SELECT position FROM audit_index WHERE tmax <= ?
			ORDER BY tmax DESC, position DESC LIMIT 1`, to).Scan(&hi)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, false, fmt.Errorf("projections: events: %w", err)
		}
		main, mainArgs := part(lead, lower, []string{"position <= ?", "time <= ?"}, []any{hi, to})
		late, lateArgs := part("audit_late", max(lower, hi), []string{"late = 1", "time <= ?"}, []any{to})
		q = `SELECT position FROM (` + main + `) UNION ALL SELECT position FROM (` + late + `) ORDER BY position LIMIT ?`
		args = append(append(mainArgs, lateArgs...), limit+1)
	}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, false, fmt.Errorf("projections: events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			return nil, false, fmt.Errorf("projections: events: %w", err)
		}
		positions = append(positions, p)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("projections: events: %w", err)
	}
	if len(positions) > limit {
		return positions[:limit], true, nil
	}
	return positions, false, nil
}

// PositionAt returns the last position whose event is stamped at or before
// t, as far as the audit index has applied the log (0 when there is none).
func (m *ReadModel) PositionAt(ctx context.Context, t time.Time) (int64, error) {
	at := formatTime(t)
	var hi, late sql.NullInt64
	err := m.db.QueryRowContext(ctx, `SELECT position FROM audit_index WHERE tmax <= ?
		ORDER BY tmax DESC, position DESC LIMIT 1`, at).Scan(&hi)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("projections: position at %s: %w", at, err)
	}
	err = m.db.QueryRowContext(ctx, `SELECT MAX(position) FROM audit_index WHERE late = 1 AND time <= ?`, at).Scan(&late)
	if err != nil {
		return 0, fmt.Errorf("projections: position at %s: %w", at, err)
	}
	return max(hi.Int64, late.Int64), nil
}

// AuditCheckpoint returns the position up to which the audit index has
// applied the log.
func (m *ReadModel) AuditCheckpoint(ctx context.Context) (int64, error) {
	var pos int64
	err := m.db.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = 'audit'`).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projections: audit checkpoint: %w", err)
	}
	return pos, nil
}

// History returns every change to a party, oldest first, as change-feed
// items (actor, reason, trigger, time and field changes): the party's own
// events, those of its requirements and those of the relationships it is an
// end of. With requirementID it returns only that requirement's changes. It returns ENOTFOUND when there are none (an
// unknown party or requirement).
func (m *ReadModel) History(ctx context.Context, partyID, requirementID string) ([]ChangeItem, error) {
	sub := `SELECT position FROM audit_index WHERE party_id = ?
		UNION SELECT c.position FROM changes c JOIN change_relationships r ON r.id = c.relationship_id
		WHERE c.relationship_id IS NOT NULL AND (r.from_party_id = ? OR r.to_party_id = ?)`
	args := []any{partyID, partyID, partyID}
	if requirementID != "" {
		sub = `SELECT position FROM audit_index WHERE requirement_id = ? AND party_id = ?`
		args = []any{requirementID, partyID}
	}
	rows, err := m.db.QueryContext(ctx, `SELECT `+changeCols+` FROM changes
		WHERE position IN (`+sub+`) ORDER BY position`, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: history: %w", err)
	}
	defer rows.Close()
	var out []ChangeItem
	for rows.Next() {
		it, err := scanChange(rows)
		if err != nil {
			return nil, fmt.Errorf("projections: history: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projections: history: %w", err)
	}
	if len(out) == 0 {
		if requirementID != "" {
			return nil, notFound("no requirement %s of party %s", requirementID, partyID)
		}
		return nil, notFound("no party %s", partyID)
	}
	return out, nil
}
