package projections

import (
	"errors"
	"maps"
	"slices"

	"github.com/partyledger/partyledger/domain"
)

// A party's state in register_snapshot_parties is stored in a compact
// binary encoding: a format byte, then the state's fields in a fixed order,
// strings as a uvarint length and their bytes, integers as varints. Loading
// a snapshot is decoding these states, so the encoding is what a first
// as_of far from the cache costs (BENCHMARKS.md, "as_of snapshots"):
// decoding it takes one allocation for the strings of a state (they are
// slices of one copy of the row) where the JSON of round two took one per
// field and a reflection walk.
//
// Migration 0013 dropped the JSON rows of round two (the snapshots are
// rebuilt from the log); a row in another format is an error, never a
// wrong state.
const stateFormatBinary1 byte = 1

// Flags of an encoded requirement.
const (
	reqHasState     = 1 << iota // a [reqState] follows
	reqHasReq                   // a [domain.Requirement] follows
	reqOwnID                    // its ID differs from its key (then stored)
	reqOwnParty                 // its PartyID differs from the party's (then stored)
	reqReviewDue                // ReviewDue is set (then stored)
	reqAddressed                // Addressed is set
	reqAddressedYes             // … to true
)

// appendState appends the binary encoding of st to b. Maps are written in
// key order, so that a state always encodes to the same bytes (a rebuild
// recreates the same rows).
func appendState(b []byte, st *partyState) []byte {
	p := &st.p
	b = append(b, stateFormatBinary1)
	b = appendStr(b, string(p.ID))
	b = appendVarint(b, p.Version)
	for _, s := range [...]string{p.Name, p.Category, p.Scope, p.Description, p.Owner, p.Status,
		st.created, st.updated} {
		b = appendStr(b, s)
	}
	b = appendVarint(b, int64(p.Influence))
	b = appendVarint(b, int64(p.Interest))
	if p.ParentID != nil {
		b = append(b, 1)
		b = appendStr(b, string(*p.ParentID))
	} else {
		b = append(b, 0)
	}
	b = appendLen(b, p.Order == nil, len(p.Order))
	for _, rid := range p.Order {
		b = appendStr(b, string(rid))
	}
	// Requirements and their reqStates, by id (the two maps have the same
	// keys in every state a fold makes; a key in one only is kept too).
	ids := slices.Collect(maps.Keys(p.Requirements))
	for rid := range st.reqs {
		if _, ok := p.Requirements[rid]; !ok {
			ids = append(ids, rid)
		}
	}
	slices.Sort(ids)
	b = appendLen(b, p.Requirements == nil, len(ids))
	for _, rid := range ids {
		q, rs := p.Requirements[rid], st.reqs[rid]
		var flags byte
		if rs != nil {
			flags |= reqHasState
		}
		if q != nil {
			flags |= reqHasReq
			if q.ID != rid {
				flags |= reqOwnID
			}
			if q.PartyID != p.ID {
				flags |= reqOwnParty
			}
			if q.ReviewDue != nil {
				flags |= reqReviewDue
			}
			if q.Addressed != nil {
				flags |= reqAddressed
				if *q.Addressed {
					flags |= reqAddressedYes
				}
			}
		}
		b = appendStr(b, string(rid))
		b = append(b, flags)
		if rs != nil {
			b = appendVarint(b, rs.seq)
			b = appendStr(b, rs.created)
			b = appendStr(b, rs.updated)
		}
		if q == nil {
			continue
		}
		if flags&reqOwnID != 0 {
			b = appendStr(b, string(q.ID))
		}
		if flags&reqOwnParty != 0 {
			b = appendStr(b, string(q.PartyID))
		}
		for _, s := range [...]string{q.Kind, q.Title, q.Description, q.SourceType, q.SourceRef,
			q.Owner, q.Priority, q.Rationale, q.Treatment, q.Status} {
			b = appendStr(b, s)
		}
		if q.ReviewDue != nil {
			b = appendStr(b, *q.ReviewDue)
		}
		b = appendLen(b, q.Controls == nil, len(q.Controls))
		for _, c := range q.Controls {
			b = appendStr(b, c)
		}
	}
	b = appendLen(b, p.Plan == nil, len(p.Plan))
	for _, id := range slices.Sorted(maps.Keys(p.Plan)) {
		e := p.Plan[id]
		b = appendStr(b, string(id))
		if e == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		for _, s := range [...]string{string(e.ID), e.Topic, e.When, e.Frequency, e.Channel,
			e.Communicator, e.Priority} {
			b = appendStr(b, s)
		}
	}
	return b
}

// decodeState decodes a stored party state ([appendState]). The state's
// strings are slices of data.
func decodeState(data string) (*partyState, error) {
	if len(data) == 0 || data[0] != stateFormatBinary1 {
		return nil, errors.New("unknown party state format")
	}
	r := stateReader{s: data, off: 1}
	st := &partyState{}
	p := &st.p
	p.ID = domain.PartyID(r.str())
	p.Version = r.varint()
	p.Name, p.Category, p.Scope, p.Description = r.str(), r.str(), r.str(), r.str()
	p.Owner, p.Status, st.created, st.updated = r.str(), r.str(), r.str(), r.str()
	p.Influence, p.Interest = int(r.varint()), int(r.varint())
	if r.byte() == 1 {
		parent := domain.PartyID(r.str())
		p.ParentID = &parent
	}
	if n, ok := r.len(); ok {
		p.Order = make([]domain.RequirementID, n)
		for i := range p.Order {
			p.Order[i] = domain.RequirementID(r.str())
		}
	}
	n, _ := r.len()
	// The register fold writes into these maps: never nil.
	p.Requirements = make(map[domain.RequirementID]*domain.Requirement, n)
	st.reqs = make(map[domain.RequirementID]*reqState, n)
	// One allocation for the requirement values of the state.
	reqs, states := make([]domain.Requirement, 0, n), make([]reqState, 0, n)
	for range n {
		rid := domain.RequirementID(r.str())
		flags := r.byte()
		if flags&reqHasState != 0 {
			states = append(states, reqState{seq: r.varint(), created: r.str(), updated: r.str()})
			st.reqs[rid] = &states[len(states)-1]
		}
		if flags&reqHasReq == 0 {
			continue
		}
		reqs = append(reqs, domain.Requirement{ID: rid, PartyID: p.ID})
		q := &reqs[len(reqs)-1]
		if flags&reqOwnID != 0 {
			q.ID = domain.RequirementID(r.str())
		}
		if flags&reqOwnParty != 0 {
			q.PartyID = domain.PartyID(r.str())
		}
		q.Kind, q.Title, q.Description, q.SourceType, q.SourceRef = r.str(), r.str(), r.str(), r.str(), r.str()
		q.Owner, q.Priority, q.Rationale, q.Treatment, q.Status = r.str(), r.str(), r.str(), r.str(), r.str()
		if flags&reqReviewDue != 0 {
			due := r.str()
			q.ReviewDue = &due
		}
		if flags&reqAddressed != 0 {
			yes := flags&reqAddressedYes != 0
			q.Addressed = &yes
		}
		if k, ok := r.len(); ok {
			q.Controls = make([]string, k)
			for i := range q.Controls {
				q.Controls[i] = r.str()
			}
		}
		p.Requirements[rid] = q
	}
	if k, ok := r.len(); ok {
		p.Plan = make(map[domain.PlanEntryID]*domain.PlanEntry, k)
		for range k {
			id := domain.PlanEntryID(r.str())
			if r.byte() == 0 {
				p.Plan[id] = nil
				continue
			}
			e := &domain.PlanEntry{ID: domain.PlanEntryID(r.str()), Topic: r.str(), When: r.str(),
				Frequency: r.str(), Channel: r.str(), Communicator: r.str(), Priority: r.str()}
			p.Plan[id] = e
		}
	}
	if r.bad || r.off != len(r.s) {
		return nil, errors.New("corrupt party state")
	}
	return st, nil
}

func appendStr(b []byte, s string) []byte {
	b = appendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, v int64) []byte {
	return appendUvarint(b, uint64(v<<1)^uint64(v>>63)) // zig-zag
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendLen writes a slice's or map's length, 0 for nil (so that nil and
// empty stay apart).
func appendLen(b []byte, isNil bool, n int) []byte {
	if isNil {
		return append(b, 0)
	}
	return appendUvarint(b, uint64(n)+1)
}

// stateReader reads the binary encoding of a state from s; a read past
// the end or a bad length sets bad and returns zero values.
type stateReader struct {
	s   string
	off int
	bad bool
}

func (r *stateReader) byte() byte {
	if r.off >= len(r.s) {
		r.bad = true
		return 0
	}
	c := r.s[r.off]
	r.off++
	return c
}

func (r *stateReader) uvarint() uint64 {
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		c := r.byte()
		if r.bad {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	r.bad = true
	return 0
}

func (r *stateReader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// str returns the next string: a slice of r.s, not a copy.
func (r *stateReader) str() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.s)-r.off) {
		r.bad = true
		return ""
	}
	s := r.s[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

// len reads what appendLen wrote: the length, and false for nil.
func (r *stateReader) len() (int, bool) {
	n := r.uvarint()
	if n == 0 || r.bad {
		return 0, false
	}
	if n-1 > uint64(len(r.s)-r.off) { // every element takes at least a byte
		r.bad = true
		return 0, false
	}
	return int(n - 1), true
}
