package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// DefaultSnapshotInterval is how many positions of the log lie between two
// persistent as_of snapshots of the register, so that any as_of reads one
// snapshot plus fewer than this many events. Chosen by measurement
// (BENCHMARKS.md, "as_of snapshots"): folding the log runs at roughly
// 40–100k events/s on the reference machine, so the events after a
// snapshot cost at most ~0.1–0.25 s, and loading a snapshot of 10k parties
// (binary states, [appendState]) tens of milliseconds; the stored states
// stay a fraction of the log's size.
const DefaultSnapshotInterval = 10_000

// WithSnapshotInterval sets how many positions lie between two persistent
// as_of snapshots (n <= 0 means [DefaultSnapshotInterval]). Snapshots
// already stored stay valid whatever the interval.
func WithSnapshotInterval(n int64) Option {
	return func(m *ReadModel) { m.snapshotEvery = n }
}

// snapshots is the projection that keeps persistent as_of snapshots of the
// register: every interval positions it writes a register_snapshots row and,
// for each party changed since the snapshot before, the party's folded state
// (register_snapshot_parties). A snapshot is the register fold of the log
// ([Snapshot.apply], the as_of rules) up to its position, never a copy of the
// current rows.
//
// It keeps nothing between batches: at a snapshot's position it reads the
// events since the previous snapshot back from the store, loads the states
// of the parties they touch and folds them. A restart, a failed batch or a
// wipe therefore needs no recovery, and a rebuild recreates every snapshot.
type snapshots struct {
	store EventReader
	every int64

	tx   *sql.Tx
	last int64 // through of the latest stored snapshot

	// cur is the whole register at last, kept between snapshots while
	// rebuilding (a cache limit of rebuildCacheParties or more), so that a
	// snapshot folds the interval into it instead of loading and decoding
	// the states it changes. Live, it is not kept (memory): each snapshot
	// loads the states of the parties its interval touches.
	cur     *Snapshot
	touched map[domain.PartyID]bool // changed in cur since last
	limit   int
}

func newSnapshots(store EventReader, every int64) *snapshots {
	if every <= 0 {
		every = DefaultSnapshotInterval
	}
	return &snapshots{store: store, every: every}
}

func (s *snapshots) name() string { return "register_snapshots" }
func (s *snapshots) tables() []string {
	return []string{"register_snapshots", "register_snapshot_parties"}
}
func (s *snapshots) flush(context.Context) error { return nil }

func (s *snapshots) setCacheLimit(n int) {
	s.limit = n
	if n < rebuildCacheParties {
		s.cur = nil
	}
}

func (s *snapshots) end(committed bool) {
	s.tx = nil
	if !committed {
		s.cur = nil // may be ahead of the database
	}
}

// everyEvent: a snapshot falls on a position whatever the event's type.
func (s *snapshots) everyEvent() {}

func (s *snapshots) begin(ctx context.Context, tx *sql.Tx) error {
	s.tx = tx
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(through), 0) FROM register_snapshots`).Scan(&s.last); err != nil {
		return err
	}
	if s.limit < rebuildCacheParties || (s.cur != nil && s.cur.through >= s.last) {
		return nil
	}
	// Rebuilding and nothing kept yet: start from the latest snapshot when
	// nothing has been applied after it (after the wipe, position 0).
	var cp int64
	if err := tx.QueryRowContext(ctx, `SELECT position FROM checkpoints WHERE name = ?`, s.name()).Scan(&cp); err != nil {
		return err
	}
	if cp != s.last {
		return nil // the next snapshot reads its interval back from the store
	}
	cur, err := loadSnapshotHeader(ctx, tx, s.last, time.Time{})
	if err == nil {
		err = loadParties(ctx, tx, cur, s.last, nil)
	}
	if err != nil {
		return err
	}
	s.cur, s.touched = cur, map[domain.PartyID]bool{}
	return nil
}

func (s *snapshots) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	if s.cur != nil && ev.Position > s.cur.through {
		// Rebuilding: fold the event already decoded into the register
		// kept in memory.
		if strings.HasPrefix(ev.Stream, domain.PartyStreamPrefix) {
			s.cur.applyDecoded(ev, de)
			if pid, _, ok := target(de); ok {
				s.touched[pid] = true
			}
		}
		s.cur.through = ev.Position
		if ev.Time.After(s.cur.tmax) {
			s.cur.tmax = ev.Time
		}
	}
	if ev.Position-s.last < s.every {
		return nil
	}
	var err error
	if s.cur != nil && s.cur.through == ev.Position {
		err = s.save(ctx, s.cur, slices.Sorted(maps.Keys(s.touched)))
		clear(s.touched)
	} else {
		s.cur = nil
		err = s.write(ctx, ev.Position)
	}
	if err != nil {
		return fmt.Errorf("snapshot at %d: %w", ev.Position, err)
	}
	s.last = ev.Position
	return nil
}

// write stores the snapshot at through: the previous snapshot's header, and
// the states of the parties that the events after it change.
func (s *snapshots) write(ctx context.Context, through int64) error {
	var evs []eventstore.Event
	for after := s.last; after < through; {
		batch, err := s.store.ReadAll(ctx, after, int(min(foldBatch, through-after)))
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		if len(batch) == 0 {
			return fmt.Errorf("read log: the store ends at %d", after)
		}
		evs = append(evs, batch...)
		after = batch[len(batch)-1].Position
	}
	// Decode once; the parties the events touch.
	des := make([]domain.Event, len(evs))
	touched := map[domain.PartyID]bool{}
	for i := range evs {
		ev := &evs[i]
		if !strings.HasPrefix(ev.Stream, domain.PartyStreamPrefix) {
			continue
		}
		de, err := decode(ev)
		if err != nil {
			return fmt.Errorf("event %d (%s, id %s): %w", ev.Position, ev.Type, ev.ID, err)
		}
		des[i] = de
		if pid, _, ok := target(de); ok {
			touched[pid] = true
		}
	}
	ids := slices.Sorted(maps.Keys(touched))
	prev := s.cur
	if prev == nil || prev.through != s.last {
		s.cur = nil
		var err error
		if prev, err = loadSnapshotHeader(ctx, s.tx, s.last, time.Time{}); err != nil {
			return err
		}
		load := ids // live: only the states this snapshot changes
		if s.limit >= rebuildCacheParties {
			load = nil // rebuilding: the whole register, kept for the next one
		}
		if err := loadParties(ctx, s.tx, prev, s.last, load); err != nil {
			return err
		}
	}
	for i := range evs {
		ev := &evs[i]
		prev.applyDecoded(ev, des[i])
		prev.through = ev.Position
		if ev.Time.After(prev.tmax) {
			prev.tmax = ev.Time
		}
	}
	prev.through = through
	if s.limit >= rebuildCacheParties && len(prev.parties) <= s.limit {
		s.cur, s.touched = prev, map[domain.PartyID]bool{}
	}
	return s.save(ctx, prev, ids)
}

// save writes the snapshot snap: its header and the states of the parties
// ids (those changed since the snapshot before).
func (s *snapshots) save(ctx context.Context, snap *Snapshot, ids []domain.PartyID) error {
	through := snap.through
	if _, err := s.tx.ExecContext(ctx, `INSERT OR REPLACE INTO register_snapshots (through, position, tmax)
		VALUES (?, ?, ?)`, through, snap.Position, snap.tmax.UnixNano()); err != nil {
		return err
	}
	ins, err := s.tx.PrepareContext(ctx, `INSERT OR REPLACE INTO register_snapshot_parties (party_id, through, data)
		VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	var buf []byte
	for _, pid := range ids {
		st := snap.parties[pid]
		if st == nil {
			continue // an event for a party never identified
		}
		buf = appendState(buf[:0], st)
		if _, err := ins.ExecContext(ctx, string(pid), through, buf); err != nil {
			return err
		}
	}
	return nil
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// loadSnapshotHeader returns an empty snapshot positioned as the latest
// stored snapshot with through <= upTo and, unless before is zero, whose
// events are all stamped at or before it; or an empty snapshot at 0.
func loadSnapshotHeader(ctx context.Context, q queryer, upTo int64, before time.Time) (*Snapshot, error) {
	s := newSnapshot()
	tmaxBound := int64(1<<63 - 1)
	if !before.IsZero() {
		tmaxBound = before.UnixNano()
	}
	var tmax int64
	err := q.QueryRowContext(ctx, `SELECT through, position, tmax FROM register_snapshots
		WHERE through <= ? AND tmax <= ? ORDER BY through DESC LIMIT 1`, upTo, tmaxBound).
		Scan(&s.through, &s.Position, &tmax)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	s.tmax = time.Unix(0, tmax).UTC()
	return s, nil
}

// loadParties adds to s the states at the snapshot at through of the
// parties ids (all of them when ids is nil).
func loadParties(ctx context.Context, q queryer, s *Snapshot, through int64, ids []domain.PartyID) (err error) {
	if through == 0 {
		return nil
	}
	// The rows are read first, then decoded on every core: decoding the
	// JSON states is most of a load.
	var blobs []string
	add := func(rows *sql.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var data string
			if err := rows.Scan(&data); err != nil {
				return err
			}
			blobs = append(blobs, data)
		}
		return rows.Err()
	}
	defer func() {
		if err == nil {
			err = decodeParties(s, blobs)
		}
	}()
	if ids == nil {
		rows, err := q.QueryContext(ctx, `SELECT p.data FROM (SELECT party_id, MAX(through) AS t
				FROM register_snapshot_parties WHERE through <= ? GROUP BY party_id) l
			JOIN register_snapshot_parties p ON p.party_id = l.party_id AND p.through = l.t`, through)
		if err != nil {
			return fmt.Errorf("read snapshot parties: %w", err)
		}
		return add(rows)
	}
	for _, id := range ids {
		rows, err := q.QueryContext(ctx, `SELECT data FROM register_snapshot_parties
			WHERE party_id = ? AND through <= ? ORDER BY through DESC LIMIT 1`, string(id), through)
		if err != nil {
			return fmt.Errorf("read snapshot party %s: %w", id, err)
		}
		if err := add(rows); err != nil {
			return err
		}
	}
	return nil
}

// loadSnapshot returns the latest stored snapshot usable for a fold for at
// up to upTo (one that holds no event at leaves out), with every party's
// state, or an empty snapshot when there is none. Its states are s's own.
func (m *ReadModel) loadSnapshot(ctx context.Context, at AsOf, upTo int64) (*Snapshot, error) {
	tx, err := m.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("projections: as of %s: %w", at, err)
	}
	defer tx.Rollback()
	s, err := loadSnapshotHeader(ctx, tx, upTo, at.Time)
	if err == nil {
		err = loadParties(ctx, tx, s, s.through, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("projections: as of %s: %w", at, err)
	}
	return s, nil
}

// snapshotInterval is the interval of the persistent snapshots.
func (m *ReadModel) snapshotInterval() int64 {
	if m.snapshotEvery > 0 {
		return m.snapshotEvery
	}
	return DefaultSnapshotInterval
}

// decodeParties decodes the stored party states blobs into s, in parallel.
func decodeParties(s *Snapshot, blobs []string) error {
	states := make([]*partyState, len(blobs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(blobs)/64))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(blobs); i += workers {
				st, err := decodeState(blobs[i])
				if err != nil {
					errs[w] = fmt.Errorf("decode snapshot party: %w", err)
					return
				}
				states[i] = st
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, st := range states {
		s.parties[st.p.ID] = st
		s.owned[st.p.ID] = true
	}
	return nil
}
