package projections

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// Page sizes of the paged lists (GET /api/v1/parties, /register, /changes).
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 500
)

// Cursor is where a page of a party list ended: the sort key of its last
// party. The next page starts strictly after it, so a page walk sees every
// party at most once even while writes go on (keyset paging, not offsets).
// The zero Cursor is the start of the list.
type Cursor struct {
	Rank    int    // register order only: 0 for an internal party, 1 otherwise
	NameKey string // domain.NormalizeName of the party's name
	ID      string
}

// IsZero reports whether c is the start of the list.
func (c Cursor) IsZero() bool { return c.ID == "" }

// String encodes c for a next link: unpadded base64url of a JSON array. The
// zero Cursor encodes as "".
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	b, _ := json.Marshal([]any{c.Rank, c.NameKey, c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes [Cursor.String]. It returns EINVALID (field cursor)
// for anything else; "" is the zero Cursor.
func ParseCursor(s string) (Cursor, error) {
	var c Cursor
	if s == "" {
		return c, nil
	}
	bad := &domain.Error{Code: domain.EINVALID, Message: "invalid query parameter",
		Fields: []domain.FieldError{{Field: "cursor", Message: "must be the cursor of a next link"}}}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, bad
	}
	var parts []json.RawMessage
	if json.Unmarshal(b, &parts) != nil || len(parts) != 3 ||
		json.Unmarshal(parts[0], &c.Rank) != nil || json.Unmarshal(parts[1], &c.NameKey) != nil ||
		json.Unmarshal(parts[2], &c.ID) != nil || c.ID == "" || (c.Rank != 0 && c.Rank != 1) {
		return Cursor{}, bad
	}
	return c, nil
}

// Page selects one page of a party list: the parties after After, at most
// Limit of them (0: all).
type Page struct {
	After Cursor
	Limit int
}

// registerRank is the first register sort key: internal parties first.
func registerRank(scope string) int {
	if scope == scopeInternal {
		return 0
	}
	return 1
}

// registerCursor is the cursor of p in register order.
func registerCursor(p PartyView) Cursor {
	return Cursor{Rank: registerRank(p.Scope), NameKey: domain.NormalizeName(p.Name), ID: p.ID}
}

// compareRegister orders cursors as the register lists parties.
func compareRegister(a, b Cursor) int {
	return cmp.Or(cmp.Compare(a.Rank, b.Rank), strings.Compare(a.NameKey, b.NameKey), strings.Compare(a.ID, b.ID))
}

// EachParty calls fn for every party that matches f, in the order of
// [ReadModel.Parties], starting after pg.After and stopping after pg.Limit
// parties. It reads as it goes: nothing but the current party is held in
// memory. next is the cursor of the last party passed to fn when more
// parties follow, else the zero Cursor. An error from fn stops the walk and
// is returned. It returns EINVALID for a bad filter.
func (m *ReadModel) EachParty(ctx context.Context, f PartyFilter, pg Page, fn func(PartyView) error) (next Cursor, err error) {
	where, args, err := f.where()
	if err != nil {
		return next, err
	}
	if !pg.After.IsZero() {
		where += ` AND (p.name_key, p.id) > (?, ?)`
		args = append(args, pg.After.NameKey, pg.After.ID)
	}
	q := `SELECT ` + pCols + `, p.name_key FROM parties p WHERE ` + where + ` ORDER BY p.name_key, p.id`
	if pg.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, pg.Limit+1)
	}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return next, fmt.Errorf("projections: parties: %w", err)
	}
	defer rows.Close()
	n := 0
	var last Cursor
	for rows.Next() {
		if pg.Limit > 0 && n == pg.Limit {
			return last, nil // one more exists
		}
		var key string
		v, err := scanParty(rows, &key)
		if err != nil {
			return next, fmt.Errorf("projections: parties: %w", err)
		}
		if err := fn(v); err != nil {
			return next, err
		}
		n, last = n+1, Cursor{NameKey: key, ID: v.ID}
	}
	if err := rows.Err(); err != nil {
		return next, fmt.Errorf("projections: parties: %w", err)
	}
	return Cursor{}, nil
}

// EachRegisterParty calls fn for every party of the register that matches
// f, each with its active requirements, in the order of
// [ReadModel.Register], starting after pg.After and stopping after pg.Limit
// parties. Like [ReadModel.EachParty] it returns the next cursor (zero on
// the last page) and holds little in memory: at most [registerChunk]
// parties with their requirements at a time. It returns EINVALID for a bad
// filter.
//
// The parties are read in chunks by keyset on the index of the register's
// order (parties_register_order, migration 0014), and each chunk's
// requirements with one more query, all inside one read transaction, so
// the whole walk reads one snapshot of the read model and no query sorts
// more than a chunk's requirements.
func (m *ReadModel) EachRegisterParty(ctx context.Context, f PartyFilter, pg Page, fn func(PartyView) error) (next Cursor, err error) {
	where, args, err := f.where()
	if err != nil {
		return next, err
	}
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return next, fmt.Errorf("projections: register: %w", err)
	}
	defer tx.Rollback() // read only: nothing to commit
	after, n := pg.After, 0
	for {
		want := registerChunk
		if pg.Limit > 0 {
			want = min(want, pg.Limit-n)
		}
		ps, keys, more, err := registerParties(ctx, tx, where, args, after, want)
		if err != nil {
			return next, fmt.Errorf("projections: register: %w", err)
		}
		if err := activeRequirements(ctx, tx, ps); err != nil {
			return next, fmt.Errorf("projections: register: %w", err)
		}
		for i := range ps {
			if err := fn(ps[i]); err != nil {
				return next, err
			}
		}
		n += len(ps)
		if !more {
			return Cursor{}, nil
		}
		after = keys[len(keys)-1]
		if pg.Limit > 0 && n >= pg.Limit {
			return after, nil
		}
	}
}

// registerChunk is how many parties [ReadModel.EachRegisterParty] reads per
// query: a page of the default size in one, the whole register in a few
// dozen. A variable only so that tests can walk small registers in many
// chunks.
var registerChunk = 256

// registerQueryHead and registerQueryTail select the parties after a cursor
// in register order; a filter's condition goes between them. The order is
// that of the index parties_register_order (or parties_register_order_all
// when the filter does not fix the status), so SQLite reads the parties in
// order and stops at the limit instead of sorting them all.
var (
	registerQueryHead = `SELECT ` + pCols + `, p.register_rank, p.name_key FROM parties p WHERE `
	registerQueryTail = ` AND (p.register_rank, p.name_key, p.id) > (?, ?, ?)
		ORDER BY p.register_rank, p.name_key, p.id LIMIT ?`
)

// registerParties reads up to limit parties of the register after the
// cursor after, in register order, with their cursors. more reports
// whether parties follow the last one returned. where and args are a
// [PartyFilter]'s condition.
func registerParties(ctx context.Context, tx *sql.Tx, where string, args []any, after Cursor, limit int) (ps []PartyView, keys []Cursor, more bool, err error) {
	// The zero cursor sorts before every party: rank 0, name key "", id ""
	// with > on the id (ids are never empty).
	q := registerQueryHead + where + registerQueryTail
	args = append(slices.Clip(args), after.Rank, after.NameKey, after.ID, limit+1)
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, false, err
	}
	defer rows.Close()
	for rows.Next() {
		if len(ps) == limit {
			return ps, keys, true, nil
		}
		var key Cursor
		v, err := scanParty(rows, &key.Rank, &key.NameKey)
		if err != nil {
			return nil, nil, false, err
		}
		key.ID = v.ID
		ps, keys = append(ps, v), append(keys, key)
	}
	return ps, keys, false, rows.Err()
}

// activeRequirementsQuery selects the active requirements of n parties
// (arguments: the status, then the n party ids), each party's in
// identification order.
func activeRequirementsQuery(n int) string {
	return `SELECT ` + reqCols + ` FROM requirements
		WHERE status = ? AND party_id IN (?` + strings.Repeat(", ?", n-1) + `)
		ORDER BY party_id, seq`
}

// activeRequirements sets the Requirements of each party in ps to its
// active requirements in identification order, with one query for all of
// them (the index requirements_party serves each party's in seq order).
func activeRequirements(ctx context.Context, tx *sql.Tx, ps []PartyView) error {
	if len(ps) == 0 {
		return nil
	}
	at := make(map[string]int, len(ps))
	args := make([]any, 0, len(ps)+1)
	args = append(args, domain.StatusActive)
	for i, p := range ps {
		at[p.ID] = i
		args = append(args, p.ID)
	}
	rows, err := tx.QueryContext(ctx, activeRequirementsQuery(len(ps)), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		rv, err := scanRequirement(rows)
		if err != nil {
			return err
		}
		i, ok := at[rv.PartyID]
		if !ok {
			return fmt.Errorf("requirement %s of party %s not asked for", rv.ID, rv.PartyID)
		}
		ps[i].Requirements = append(ps[i].Requirements, rv)
	}
	return rows.Err()
}

// PageRegister returns the page pg of a register already in register order
// (as [Snapshot.Register] returns it for as_of), with the next cursor, so
// that folded and live registers page alike.
func PageRegister(ps []PartyView, pg Page) ([]PartyView, Cursor) {
	start := 0
	if !pg.After.IsZero() {
		for start < len(ps) && compareRegister(registerCursor(ps[start]), pg.After) <= 0 {
			start++
		}
	}
	ps = ps[start:]
	if pg.Limit > 0 && len(ps) > pg.Limit {
		return ps[:pg.Limit], registerCursor(ps[pg.Limit-1])
	}
	return ps, Cursor{}
}

// EachChange calls fn for every item of the detailed change feed inside w,
// in position order, reading as it goes (see [ReadModel.Changes] for the
// window). An error from fn stops the walk and is returned.
func (m *ReadModel) EachChange(ctx context.Context, w Window, fn func(ChangeItem) error) error {
	rows, err := m.changeRows(ctx, w, changeCols)
	if err != nil || rows == nil {
		return err
	}
	return eachChange(rows, fn)
}

// NetPage returns the net change feed inside w (see [NetChanges]) a page at
// a time: the net items of the groups offset to offset+limit-1, counted in
// order of first appearance, and the offset of the next page (0 on the last
// page). A group whose changes cancel out is dropped, so a page may hold
// fewer than limit items. w must have a fixed upper bound (w.Until > 0 or
// negative) so that every page reads the same window.
//
// The first page of a window reads the window's group keys (no field
// changes decoded) into an index that the read model keeps for the next
// pages (see netIndex); every page then reads only its own items, by
// position. Memory is bounded by the page and the index (12 bytes an item),
// never the whole window's items.
func (m *ReadModel) NetPage(ctx context.Context, w Window, offset, limit int) (items []NetItem, next int, err error) {
	w.Limit = 0
	idx, err := m.netIndexOf(ctx, w)
	if err != nil {
		return nil, 0, err
	}
	var positions []int64
	for i, g := range idx.groups {
		if int(g) >= offset && (limit <= 0 || int(g) < offset+limit) {
			positions = append(positions, idx.positions[i])
		}
	}
	page := make([]ChangeItem, 0, len(positions))
	err = m.eachChangeAt(ctx, positions, func(it ChangeItem) error {
		page = append(page, it)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	items = NetChanges(page)
	for i := range items {
		if p, ok := idx.latest[items[i].Party.ID]; ok {
			items[i].Party = p // as last seen in the whole window
		}
	}
	if limit > 0 && idx.nGroups > offset+limit {
		next = offset + limit
	}
	return items, next, nil
}

// netKeyCols are the columns [netKeyOf] and the latest party reference need.
const netKeyCols = `position, event_id, party_id, party_name, party_scope, party_category,
	requirement_id, change_kind, objective, relationship_id`

// scanNetKey reads a row of netKeyCols into the fields of a ChangeItem
// that [netKeyOf] reads.
func scanNetKey(s scanner) (ChangeItem, error) {
	var it ChangeItem
	var rid, obj, relID sql.NullString
	if err := s.Scan(&it.Position, &it.EventID, &it.Party.ID, &it.Party.Name, &it.Party.Scope,
		&it.Party.Category, &rid, &it.Change, &obj, &relID); err != nil {
		return it, err
	}
	if relID.Valid {
		it.Relationship = &RelationshipRef{ID: relID.String}
	}
	if rid.Valid {
		it.Requirement = &RequirementRef{ID: rid.String}
	}
	var err error
	if it.Objective, err = decodeObjective(obj); err != nil {
		return it, fmt.Errorf("bad stored objective at position %d: %w", it.Position, err)
	}
	return it, nil
}

// CountParties returns how many parties match f, for a paged list's "N
// parties, page i of n" without reading them. It returns EINVALID for a bad
// filter.
func (m *ReadModel) CountParties(ctx context.Context, f PartyFilter) (int, error) {
	where, args, err := f.where()
	if err != nil {
		return 0, err
	}
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM parties p WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("projections: count parties: %w", err)
	}
	return n, nil
}
