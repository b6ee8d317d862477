package verify_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/mattn/go-sqlite3"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/verify"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// MustFillDB creates a SQLite event store at path with n events over a few
// streams (interleaved, multi-event appends included) and closes it.
func MustFillDB(tb testing.TB, path string, n int, seed uint64) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	MustAppend(tb, s, n, seed)
}

// MustAppend appends n random events to s.
func MustAppend(tb testing.TB, s eventstore.Store, n int, seed uint64) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, 1))
	streams := []string{"party-a", "party-b", "party-c", "review-d", "party-e"}
	for written := 0; written < n; {
		k := 1 + rng.IntN(3)
		if written+k > n {
			k = n - written
		}
		var evs []eventstore.Event
		for i := 0; i < k; i++ {
			data, _ := json.Marshal(map[string]any{"n": written + i, "text": fmt.Sprintf("value %d", rng.IntN(1000)),
				"requirement_id": uuid.NewString()})
			evs = append(evs, eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "party.revised",
				Schema: 1, Time: t0.Add(time.Duration(written+i) * time.Second), Actor: "alice",
				Reason: "because", Trigger: "other", Data: data})
		}
		if _, err := s.Append(ctx, streams[rng.IntN(len(streams))], eventstore.AnyVersion, evs); err != nil {
			tb.Fatal(err)
		}
		written += k
	}
}

// verifyDB opens the store at path and verifies it.
func verifyDB(tb testing.TB, path string, opts verify.Options) verify.Result {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	res, err := verify.Verify(ctx, verify.FromStore(ctx, s, 0, 64), opts)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// readAll returns every event of the store at path.
func readAll(tb testing.TB, path string) []eventstore.Event {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	evs, err := s.ReadAll(ctx, 0, 1<<20)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	os.Remove(to + "-wal")
	os.Remove(to + "-shm")
}

// rawDB opens the file directly with the plain SQLite driver, as an
// intruder would, and drops the append-only triggers.
func rawDB(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{`DROP TRIGGER IF EXISTS events_no_update`, `DROP TRIGGER IF EXISTS events_no_delete`} {
		if _, err := db.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

func mustExec(tb testing.TB, db *sql.DB, q string, args ...any) {
	tb.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

// row is one events row as stored, every column.
type row struct {
	position, version, schema                                            int64
	id, stream, typ, tm, actor, reason, trigger, corr, cause, data, prev string
	hash                                                                 string
}

const rowCols = `position, id, stream, version, type, schema, time, actor, reason, "trigger",
	correlation_id, causation_id, data, prev_hash, hash`

func getRow(tb testing.TB, db *sql.DB, pos int64) row {
	tb.Helper()
	var r row
	err := db.QueryRow(`SELECT `+rowCols+` FROM events WHERE position = ?`, pos).Scan(&r.position, &r.id,
		&r.stream, &r.version, &r.typ, &r.schema, &r.tm, &r.actor, &r.reason, &r.trigger, &r.corr,
		&r.cause, &r.data, &r.prev, &r.hash)
	if err != nil {
		tb.Fatalf("row %d: %v", pos, err)
	}
	return r
}

func putRow(tb testing.TB, db *sql.DB, r row) {
	tb.Helper()
	mustExec(tb, db, `INSERT INTO events (`+rowCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.position, r.id, r.stream, r.version, r.typ, r.schema, r.tm, r.actor, r.reason, r.trigger,
		r.corr, r.cause, r.data, r.prev, r.hash)
}

// rehash recomputes prev_hash and hash of every event from position from
// to the end, so that the chain is consistent again after an edit.
func rehash(tb testing.TB, db *sql.DB, from int64) {
	tb.Helper()
	var prev string
	if from > 1 {
		if err := db.QueryRow(`SELECT hash FROM events WHERE position = ?`, from-1).Scan(&prev); err != nil {
			tb.Fatal(err)
		}
	}
	rows, err := db.Query(`SELECT `+rowCols+` FROM events WHERE position >= ? ORDER BY position`, from)
	if err != nil {
		tb.Fatal(err)
	}
	var rs []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.position, &r.id, &r.stream, &r.version, &r.typ, &r.schema, &r.tm, &r.actor,
			&r.reason, &r.trigger, &r.corr, &r.cause, &r.data, &r.prev, &r.hash); err != nil {
			tb.Fatal(err)
		}
		rs = append(rs, r)
	}
	rows.Close()
	for _, r := range rs {
		tm, err := time.Parse(eventstore.TimeFormat, r.tm)
		if err != nil {
			tb.Fatal(err)
		}
		ev := eventstore.Event{ID: r.id, Stream: r.stream, Version: r.version, Position: r.position,
			Type: r.typ, Schema: int(r.schema), Time: tm, Actor: r.actor, Reason: r.reason,
			Trigger: r.trigger, CorrelationID: r.corr, CausationID: r.cause, Data: []byte(r.data), PrevHash: prev}
		ev.Hash = ev.ComputeHash()
		mustExec(tb, db, `UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?`, prev, ev.Hash, r.position)
		prev = ev.Hash
	}
}

// corruption is one way of tampering with a database file. apply changes
// the file and returns the first affected position. local is true when
// the chain alone shows it; exact is true when a checkpoint at the head
// locates it exactly (else the checkpoint shows it at its own position).
type corruption struct {
	name  string
	local bool
	exact bool
	apply func(tb testing.TB, path string, head int64, rng *rand.Rand) int64
}

// columns an intruder may edit (the position is the row key).
var editable = []string{"id", "stream", "version", "type", "schema", "time", "actor", "reason",
	`"trigger"`, "correlation_id", "causation_id", "data", "prev_hash", "hash"}

var corruptions = []corruption{
	{"flip a byte of data", true, true, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		p := 1 + rng.Int64N(head)
		r := getRow(tb, db, p)
		b := []byte(r.data)
		i := rng.IntN(len(b))
		b[i] ^= byte(1 << rng.IntN(7))
		if b[i] == 0 {
			b[i] = 'x'
		}
		mustExec(tb, db, `UPDATE events SET data = ? WHERE position = ?`, string(b), p)
		return p
	}},
	{"edit a column", true, true, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		p := 1 + rng.Int64N(head)
		col := editable[rng.IntN(len(editable))]
		switch col {
		case "version", "schema":
			mustExec(tb, db, `UPDATE events SET `+col+` = `+col+` + 1000 WHERE position = ?`, p)
		case "time":
			mustExec(tb, db, `UPDATE events SET time = ? WHERE position = ?`,
				eventstore.FormatTime(t0.Add(-time.Hour)), p)
		case "id", "stream":
			mustExec(tb, db, `UPDATE events SET `+col+` = `+col+` || '-forged' WHERE position = ?`, p)
		default:
			mustExec(tb, db, `UPDATE events SET `+col+` = `+col+` || 'x' WHERE position = ?`, p)
		}
		return p
	}},
	{"delete an event", true, true, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		p := 1 + rng.Int64N(head-1) // not the last: that is truncation
		mustExec(tb, db, `DELETE FROM events WHERE position = ?`, p)
		return p
	}},
	{"delete an event and renumber the rest", true, true, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		p := 1 + rng.Int64N(head-1)
		mustExec(tb, db, `DELETE FROM events WHERE position = ?`, p)
		for q := p + 1; q <= head; q++ {
			mustExec(tb, db, `UPDATE events SET position = ? WHERE position = ?`, q-1, q)
		}
		return p
	}},
	{"swap two events", true, true, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		i := 1 + rng.Int64N(head-1)
		j := i + 1 + rng.Int64N(head-i)
		ri, rj := getRow(tb, db, i), getRow(tb, db, j)
		mustExec(tb, db, `DELETE FROM events WHERE position IN (?, ?)`, i, j)
		ri.position, rj.position = j, i
		putRow(tb, db, rj)
		putRow(tb, db, ri)
		return i
	}},
	{"truncate the tail", false, true, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		k := rng.Int64N(head) // keep positions 1..k
		mustExec(tb, db, `DELETE FROM events WHERE position > ?`, k)
		return k + 1
	}},
	{"re-hash the chain after an edit", false, false, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		p := 1 + rng.Int64N(head)
		mustExec(tb, db, `UPDATE events SET reason = 'nothing to see here' WHERE position = ?`, p)
		rehash(tb, db, p)
		return p
	}},
	{"delete an event, renumber and re-hash", false, false, func(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
		db := rawDB(tb, path)
		defer db.Close()
		p := 1 + rng.Int64N(head-1)
		r := getRow(tb, db, p)
		mustExec(tb, db, `DELETE FROM events WHERE position = ?`, p)
		for q := p + 1; q <= head; q++ {
			mustExec(tb, db, `UPDATE events SET position = ? WHERE position = ?`, q-1, q)
		}
		// Close the version gap the deletion left in its stream.
		mustExec(tb, db, `UPDATE events SET version = version - 1 WHERE stream = ? AND version > ?`, r.stream, r.version)
		rehash(tb, db, p)
		return p
	}},
}

// rollback restores an older copy of the file: the state after k events.
func rollback(tb testing.TB, path string, head int64, rng *rand.Rand) int64 {
	tb.Helper()
	k := 1 + rng.Int64N(head-1)
	dir := tb.TempDir()
	old := filepath.Join(dir, "old.db")
	MustFillDB(tb, old, 0, 0)
	// Rebuild the older copy row by row from the current file (the
	// copy an operator restored from a backup taken at k).
	src := readAll(tb, path)
	db := rawDB(tb, old)
	for _, ev := range src[:k] {
		putRow(tb, db, row{position: ev.Position, id: ev.ID, stream: ev.Stream, version: ev.Version,
			typ: ev.Type, schema: int64(ev.Schema), tm: eventstore.FormatTime(ev.Time), actor: ev.Actor,
			reason: ev.Reason, trigger: ev.Trigger, corr: ev.CorrelationID, cause: ev.CausationID,
			data: string(ev.Data), prev: ev.PrevHash, hash: ev.Hash})
	}
	db.Close()
	copyFile(tb, old, path)
	return k + 1
}

// pristine is a database file with its export and a signed checkpoint of
// its head, made before any corruption.
type pristine struct {
	path      string
	head      int64
	reference []byte // events.jsonl
	anchor    verify.Anchor
	anchors   []verify.Anchor // a checkpoint every 25 events
}

func mustPristine(tb testing.TB, n int) pristine {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "pristine.db")
	MustFillDB(tb, path, n, 42)
	evs := readAll(tb, path)
	var buf bytes.Buffer
	for _, ev := range evs {
		if err := verify.WriteJSONL(&buf, ev); err != nil {
			tb.Fatal(err)
		}
	}
	skey, vkey, err := checkpoint.GenerateKey("test-log")
	if err != nil {
		tb.Fatal(err)
	}
	signer, _ := checkpoint.NewSigner(skey)
	verifier, _ := checkpoint.NewVerifier(vkey)
	head := evs[len(evs)-1]
	note, err := signer.Sign(checkpoint.Checkpoint{Origin: "test-log", Position: head.Position, Hash: head.Hash, Time: t0})
	if err != nil {
		tb.Fatal(err)
	}
	c, err := checkpoint.Open([]byte(note), verifier)
	if err != nil {
		tb.Fatal(err)
	}
	p := pristine{path: path, head: head.Position, reference: buf.Bytes(),
		anchor: verify.Anchor{Position: c.Position, Hash: c.Hash, Source: "the checkpoint"}}
	for _, ev := range evs {
		if ev.Position%25 == 0 || ev.Position == head.Position {
			p.anchors = append(p.anchors, verify.Anchor{Position: ev.Position, Hash: ev.Hash, Source: fmt.Sprintf("checkpoint %d", ev.Position)})
		}
	}
	return p
}

func TestPristineVerifies(t *testing.T) {
	p := mustPristine(t, 120)
	res := verifyDB(t, p.path, verify.Options{Anchors: p.anchors,
		Reference: verify.FromJSONL(bytes.NewReader(p.reference))})
	if !res.OK || res.Events != 120 || res.Head.Position != 120 || res.Anchors != len(p.anchors) || res.Referenced != 120 {
		t.Fatalf("pristine log: %+v, first failure %+v", res, res.FirstFailure)
	}
	// The export verifies on its own, too.
	res, err := verify.Verify(context.Background(), verify.FromJSONL(bytes.NewReader(p.reference)), verify.Options{Anchors: []verify.Anchor{p.anchor}})
	if err != nil || !res.OK || res.Events != 120 {
		t.Fatalf("export: %+v %v", res, err)
	}
	// And an empty log is intact.
	empty := filepath.Join(t.TempDir(), "empty.db")
	MustFillDB(t, empty, 0, 0)
	if res := verifyDB(t, empty, verify.Options{}); !res.OK || res.Events != 0 || res.Head != (verify.Head{}) {
		t.Fatalf("empty log: %+v", res)
	}
}

// TestRandomCorruptions tampers with a real database file through SQLite in
// hundreds of random ways and checks that each is detected at the first
// affected position: from the chain alone where the chain shows it, with a
// signed checkpoint of the head otherwise (a re-hashed chain at the
// checkpoint's position, or at the first of several checkpoints after the
// edit), and exactly in every case with the reference copy.
func TestRandomCorruptions(t *testing.T) {
	const n = 60
	p := mustPristine(t, n)
	rng := rand.New(rand.NewPCG(7, 11))
	kinds := append([]corruption{}, corruptions...)
	kinds = append(kinds, corruption{"roll back to an older copy", false, true, rollback})
	total, detected := 0, 0
	counts := map[string]int{}
	for i := 0; i < 240; i++ {
		c := kinds[i%len(kinds)]
		path := filepath.Join(t.TempDir(), "corrupt.db")
		copyFile(t, p.path, path)
		first := c.apply(t, path, p.head, rng)
		total++
		counts[c.name]++
		name := fmt.Sprintf("#%d %s at %d", i, c.name, first)

		ctx := context.Background()
		store, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		check := func(opts verify.Options) verify.Result {
			res, err := verify.Verify(ctx, verify.FromStore(ctx, store, 0, 0), opts)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		// The chain alone.
		res := check(verify.Options{})
		if c.local {
			mustFailAt(t, name+" (chain alone)", res, first)
		}
		// A signed checkpoint of the head.
		res = check(verify.Options{Anchors: []verify.Anchor{p.anchor}})
		want := first
		if !c.exact {
			want = p.anchor.Position
		}
		mustFailAt(t, name+" (checkpoint)", res, want)
		// A checkpoint every 25 events narrows a re-hash down.
		res = check(verify.Options{Anchors: p.anchors})
		if !c.exact {
			want = min(((first+24)/25)*25, p.head)
		}
		mustFailAt(t, name+" (checkpoints)", res, want)
		// The reference copy locates everything exactly.
		res = check(verify.Options{Reference: verify.FromJSONL(bytes.NewReader(p.reference))})
		mustFailAt(t, name+" (reference)", res, first)
		store.Close()
		if !t.Failed() {
			detected++
		}
	}
	if total < 200 || detected != total {
		t.Fatalf("detected %d of %d corruptions", detected, total)
	}
	t.Logf("detected %d of %d corruptions at the first affected position: %v", detected, total, counts)
}

func mustFailAt(tb testing.TB, name string, res verify.Result, pos int64) {
	tb.Helper()
	if res.OK || res.FirstFailure == nil {
		tb.Errorf("%s: not detected: %+v", name, res)
		return
	}
	if res.FirstFailure.Position != pos {
		tb.Errorf("%s: reported at %d (%s), want %d", name, res.FirstFailure.Position, res.FirstFailure.Reason, pos)
	}
}

// TestStreamChain checks the per-stream rule: each stream links to its own
// previous event.
func TestStreamChain(t *testing.T) {
	var evs []eventstore.Event
	last := map[string]string{}
	version := map[string]int64{}
	for i := int64(1); i <= 30; i++ {
		st := []string{"a", "b", "c"}[i%3]
		version[st]++
		ev := eventstore.Event{ID: fmt.Sprint(i), Stream: st, Version: version[st], Position: i, Type: "t",
			Schema: 1, Time: t0, Data: []byte(`{}`), PrevHash: last[st]}
		ev.Hash = ev.ComputeHash()
		last[st] = ev.Hash
		evs = append(evs, ev)
	}
	src := func(evs []eventstore.Event) func(func(eventstore.Event, error) bool) {
		return func(yield func(eventstore.Event, error) bool) {
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
		}
	}
	ctx := context.Background()
	res, err := verify.Verify(ctx, src(evs), verify.Options{Chain: verify.StreamChain})
	if err != nil || !res.OK {
		t.Fatalf("stream chain: %+v %v", res.FirstFailure, err)
	}
	// The global rule refuses it at position 2.
	res, _ = verify.Verify(ctx, src(evs), verify.Options{})
	mustFailAt(t, "global rule on a stream chain", res, 2)
	// Relinking an event to another stream's hash is caught.
	bad := append([]eventstore.Event{}, evs...)
	bad[9].PrevHash = bad[7].Hash
	bad[9].Hash = bad[9].ComputeHash()
	res, _ = verify.Verify(ctx, src(bad), verify.Options{Chain: verify.StreamChain})
	mustFailAt(t, "relinked", res, 10)
	// A store that hashes otherwise (here: without the position, and with
	// gaps in its positions) supplies its hash function.
	noPos := func(ev eventstore.Event) string { ev.Position = 0; return ev.ComputeHash() }
	var gappy []eventstore.Event
	last = map[string]string{}
	for _, ev := range evs {
		ev.Position *= 2
		ev.PrevHash = last[ev.Stream]
		ev.Hash = noPos(ev)
		last[ev.Stream] = ev.Hash
		gappy = append(gappy, ev)
	}
	res, _ = verify.Verify(ctx, src(gappy), verify.Options{Chain: verify.StreamChain, Hash: noPos, AllowGaps: true})
	if !res.OK || res.Events != 30 {
		t.Fatalf("custom hash and gaps: %+v %+v", res, res.FirstFailure)
	}
	res, _ = verify.Verify(ctx, src(gappy), verify.Options{Chain: verify.StreamChain, Hash: noPos})
	mustFailAt(t, "gaps not allowed", res, 1)
	res, _ = verify.Verify(ctx, src(gappy), verify.Options{Chain: verify.StreamChain, AllowGaps: true})
	mustFailAt(t, "default hash", res, 2)
	// Verifying from a trusted position on: only what follows is read.
	res, _ = verify.Verify(ctx, src(evs), verify.Options{Chain: verify.StreamChain, After: 20, AfterHash: evs[19].Hash})
	if !res.OK || res.Events != 10 {
		t.Fatalf("after 20: %+v", res)
	}
}

// TestUnreadableEvent checks that a row the store cannot decode is reported
// at its position instead of ending the walk.
func TestUnreadableEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.db")
	MustFillDB(t, path, 40, 3)
	db := rawDB(t, path)
	mustExec(t, db, `UPDATE events SET time = 'not a time' WHERE position = 17`)
	db.Close()
	res := verifyDB(t, path, verify.Options{})
	mustFailAt(t, "bad time", res, 17)
	if res.Events != 39 || res.Head.Position != 40 {
		t.Fatalf("walk did not go on: %+v", res)
	}
	if !strings.Contains(res.FirstFailure.Reason, "cannot be read") {
		t.Fatalf("reason %q", res.FirstFailure.Reason)
	}
}

// TestJSONLRoundTrip checks that an exported line keeps the exact data
// bytes (the hash covers them), even where encoding/json would rewrite
// them, and that a line-oriented tool finds them after `,"data":`.
func TestJSONLRoundTrip(t *testing.T) {
	ev := eventstore.Event{ID: "x", Stream: "party-1", Version: 1, Position: 1, Type: "t", Schema: 1,
		Time: t0, Actor: `a"b<c>&`, Reason: `,"data":{}`, Data: []byte(`{"b": 1,  "a":"<tag> & \u00e9"}`)}
	ev.Hash = ev.ComputeHash()
	var buf bytes.Buffer
	if err := verify.WriteJSONL(&buf, ev); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSuffix(buf.String(), "\n")
	i := strings.Index(line, `,"data":`)
	if got := line[i+len(`,"data":`) : len(line)-1]; got != string(ev.Data) {
		t.Fatalf("data bytes %q, want %q", got, ev.Data)
	}
	got, err := verify.DecodeLine([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got.ComputeHash() != ev.Hash || string(got.Data) != string(ev.Data) || !got.Time.Equal(ev.Time) {
		t.Fatalf("round trip changed the event: %+v", got)
	}
	if err := verify.WriteJSONL(io.Discard, eventstore.Event{Data: []byte("{\n}")}); err == nil {
		t.Fatal("data with a line break was written")
	}
}
