package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/storetest"
)

func TestStore(t *testing.T) {
	storetest.RunStoreTests(t, func(t *testing.T) eventstore.Store {
		return MustOpenStore(t, filepath.Join(t.TempDir(), "events.db"), Options{})
	})
}

// MustOpenStore opens a Store at path and closes it when tb ends.
func MustOpenStore(tb testing.TB, path string, opts Options) *Store {
	tb.Helper()
	s, err := Open(tb.Context(), path, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

var testSeq int

func testEvent(typ string) eventstore.Event {
	testSeq++
	return eventstore.Event{
		ID:     uuid.Must(uuid.NewV7()).String(),
		Type:   typ,
		Schema: 1,
		Time:   time.Date(2025, 1, 2, 3, 4, 5, testSeq, time.UTC),
		Actor:  "ciso@example.org",
		Reason: "test",
		Data:   json.RawMessage(fmt.Sprintf(`{"n":%d}`, testSeq)),
	}
}

func mustAppend(tb testing.TB, s *Store, stream string, expected int64, evs ...eventstore.Event) []eventstore.Event {
	tb.Helper()
	got, err := s.Append(tb.Context(), stream, expected, evs)
	if err != nil {
		tb.Fatalf("Append(%s, %d): %v", stream, expected, err)
	}
	return got
}

func mustReadAll(tb testing.TB, s *Store) []eventstore.Event {
	tb.Helper()
	evs, err := s.ReadAll(tb.Context(), 0, 1_000_000)
	if err != nil {
		tb.Fatalf("ReadAll: %v", err)
	}
	return evs
}

// checkChain verifies positions 1..n, hashes and prev_hash links.
func checkChain(tb testing.TB, evs []eventstore.Event) {
	tb.Helper()
	prev := ""
	for i, ev := range evs {
		if ev.Position != int64(i+1) {
			tb.Errorf("event %d: position %d, want %d", i, ev.Position, i+1)
		}
		if ev.PrevHash != prev {
			tb.Errorf("position %d: prev_hash %q, want %q", ev.Position, ev.PrevHash, prev)
		}
		if ev.Hash != ev.ComputeHash() {
			tb.Errorf("position %d: hash does not verify", ev.Position)
		}
		prev = ev.Hash
	}
}

// pragmas reads the pragmas that OpenDB promises from one connection.
func pragmas(tb testing.TB, conn *sql.Conn) map[string]string {
	tb.Helper()
	got := make(map[string]string)
	for _, name := range []string{"journal_mode", "synchronous", "foreign_keys", "busy_timeout", "query_only"} {
		var v string
		if err := conn.QueryRowContext(tb.Context(), "PRAGMA "+name).Scan(&v); err != nil {
			tb.Fatalf("PRAGMA %s: %v", name, err)
		}
		got[name] = v
	}
	return got
}

// checkPoolPragmas holds n connections of db at once (so they are distinct
// pooled connections) and checks each one's pragmas.
func checkPoolPragmas(t *testing.T, db *sql.DB, n int, want map[string]string) {
	t.Helper()
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatalf("conn %d: %v", i, err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		if diff := cmp.Diff(want, pragmas(t, c)); diff != "" {
			t.Errorf("connection %d pragmas (-want +got):\n%s", i, diff)
		}
	}
}

func TestOpenDBPragmasOnEveryConnection(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts []DBOption
		want map[string]string
	}{
		{"default", nil, map[string]string{
			"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "0"}},
		{"normal for read models", []DBOption{WithSynchronous(SynchronousNormal), WithBusyTimeout(time.Second)}, map[string]string{
			"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "1000", "query_only": "0"}},
		{"query only", []DBOption{WithQueryOnly()}, map[string]string{
			"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := OpenDB(filepath.Join(dir, "pragmas.db"), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			checkPoolPragmas(t, db, 4, tt.want)
		})
	}
}

func TestStorePoolsPragmas(t *testing.T) {
	s := MustOpenStore(t, filepath.Join(t.TempDir(), "events.db"), Options{ReadConns: 3})
	checkPoolPragmas(t, s.rdb, 3, map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "1"})

	// The writer's single connection is busy only inside the writer; borrow it
	// while no append runs.
	checkPoolPragmas(t, s.wdb, 1, map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "0"})

	if _, err := s.rdb.ExecContext(t.Context(), `INSERT INTO migrations (name, applied_at) VALUES ('x', 'y')`); err == nil {
		t.Error("insert through the read pool succeeded, want a query_only error")
	}
}

// TestDriverBareDSN checks that sql.Open on DriverName with a bare path
// gets the safe settings, not go-sqlite3's defaults (synchronous=NORMAL,
// deferred BEGIN).
func TestDriverBareDSN(t *testing.T) {
	register()
	path := filepath.Join(t.TempDir(), "bare.db")
	db, err := sql.Open(DriverName, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkPoolPragmas(t, db, 2, map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "0"})
}

// TestBeginIsImmediate checks that BeginTx takes the write lock at once: a
// second writer cannot even begin while the first holds a transaction.
func TestBeginIsImmediate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock.db")
	db, err := OpenDB(path, WithBusyTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx1, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx1.Rollback()
	tx2, err := db.BeginTx(t.Context(), nil)
	if err == nil {
		tx2.Rollback()
		t.Fatal("second BeginTx succeeded while the first transaction is open; want SQLITE_BUSY from BEGIN IMMEDIATE")
	}
}

func TestOpenDBRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		opts []DBOption
	}{
		{"empty path", "", nil},
		{"memory", ":memory:", nil},
		{"memory URI", "file:x?mode=memory", nil},
		{"URI", "file:" + filepath.Join(dir, "x.db"), nil},
		{"question mark", filepath.Join(dir, "x.db?_sync=OFF"), nil},
		{"synchronous off", filepath.Join(dir, "x.db"), []DBOption{WithSynchronous("OFF")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := OpenDB(tt.path, tt.opts...)
			if err == nil {
				db.Close()
				t.Fatalf("OpenDB(%q) succeeded, want an error", tt.path)
			}
		})
	}
}

func TestDriverRefusesWeakDSN(t *testing.T) {
	register()
	dir := t.TempDir()
	for _, params := range []string{"_journal_mode=DELETE", "_txlock=deferred", "_sync=OFF", "_fk=0", "_locking_mode=EXCLUSIVE"} {
		t.Run(params, func(t *testing.T) {
			db, err := sql.Open(DriverName, filepath.Join(dir, "weak.db")+"?"+params)
			if err == nil {
				err = db.Ping()
				db.Close()
			}
			if err == nil {
				t.Fatalf("DSN with %s accepted, want an error", params)
			}
		})
	}
}

// fakeConn is a connection that ignores PRAGMA assignments and reads back
// fixed values, like a SQLite build or file system that does not honour
// them.
type fakeConn struct{ values map[string]string }

func (f fakeConn) Exec(string, []driver.Value) (driver.Result, error) {
	return driver.ResultNoRows, nil
}

func (f fakeConn) Query(q string, _ []driver.Value) (driver.Rows, error) {
	return &fakeRows{v: f.values[strings.TrimPrefix(q, "PRAGMA ")]}, nil
}

type fakeRows struct {
	v    string
	done bool
}

func (r *fakeRows) Columns() []string { return []string{"value"} }
func (r *fakeRows) Close() error      { return nil }
func (r *fakeRows) Next(dest []driver.Value) error {
	if r.done {
		return io.EOF
	}
	r.done = true
	dest[0] = r.v
	return nil
}

func TestConnectHookRefusesWrongReadBack(t *testing.T) {
	good := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "10000", "query_only": "0"}
	cfg := dbConfig{path: "x.db", sync: SynchronousFull, busyTimeout: DefaultBusyTimeout}
	if err := cfg.applyPragmas(fakeConn{good}); err != nil {
		t.Fatalf("good read-back refused: %v", err)
	}
	for name, bad := range map[string]string{"journal_mode": "delete", "synchronous": "1", "foreign_keys": "0", "busy_timeout": "0", "query_only": "1"} {
		t.Run(name, func(t *testing.T) {
			values := make(map[string]string)
			for k, v := range good {
				values[k] = v
			}
			values[name] = bad
			err := cfg.applyPragmas(fakeConn{values})
			if err == nil {
				t.Fatalf("%s reading back %q accepted, want an error", name, bad)
			}
			t.Log(err)
		})
	}
}

func TestMigrationsApplyOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil || len(files) < 2 {
		t.Fatalf("embedded migrations: %v, %v", files, err)
	}
	for range 3 {
		s, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.rdb.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n != len(files) {
			t.Fatalf("migrations recorded: %d, want %d", n, len(files))
		}
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := MustOpenStore(t, path, Options{})
	mustAppend(t, s, "party-a", eventstore.NoStream, testEvent("party.identified"))

	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{`UPDATE events SET actor = 'mallory'`, `DELETE FROM events`} {
		if _, err := db.ExecContext(t.Context(), q); err == nil {
			t.Errorf("%s succeeded, want the append-only trigger to refuse it", q)
		}
	}
	if got := mustReadAll(t, s); len(got) != 1 || got[0].Actor != "ciso@example.org" {
		t.Errorf("events changed: %+v", got)
	}
}

func TestReopenContinuesChain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := mustAppend(t, s, "party-a", eventstore.NoStream, testEvent("party.identified"), testEvent("party.revised"))
	first = append(first, mustAppend(t, s, "party-b", eventstore.NoStream, testEvent("party.identified"))...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = MustOpenStore(t, path, Options{})
	pos, hash, err := s.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if last := first[len(first)-1]; pos != last.Position || hash != last.Hash {
		t.Errorf("Head after reopen = %d, %s; want %d, %s", pos, hash, last.Position, last.Hash)
	}
	next := mustAppend(t, s, "party-a", 2, testEvent("party.revised"))
	if next[0].Position != 4 || next[0].Version != 3 || next[0].PrevHash != hash {
		t.Errorf("first append after reopen: position %d version %d prev_hash %s; want 4, 3, %s",
			next[0].Position, next[0].Version, next[0].PrevHash, hash)
	}
	all := mustReadAll(t, s)
	checkChain(t, all)
	if diff := cmp.Diff(append(first, next...), all); diff != "" {
		t.Errorf("log after reopen (-appended +read):\n%s", diff)
	}
}

func TestGroupCommitBatches(t *testing.T) {
	s := MustOpenStore(t, filepath.Join(t.TempDir(), "events.db"), Options{})
	const n = 64
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			if _, err := s.Append(t.Context(), fmt.Sprintf("party-%d", i), eventstore.NoStream,
				[]eventstore.Event{testEventConcurrent(i)}); err != nil {
				t.Errorf("append %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	st := s.Stats()
	t.Logf("stats: %+v", st)
	if st.Appends != n || st.Events != n {
		t.Errorf("Stats = %+v, want %d appends and events", st, n)
	}
	if st.Commits >= st.Appends {
		t.Errorf("%d commits for %d concurrent appends: no group commit", st.Commits, st.Appends)
	}
	checkChain(t, mustReadAll(t, s))
}

// testEventConcurrent is testEvent without the shared counter.
func testEventConcurrent(i int) eventstore.Event {
	return eventstore.Event{
		ID:     uuid.Must(uuid.NewV7()).String(),
		Type:   "party.identified",
		Schema: 1,
		Time:   time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC),
		Data:   json.RawMessage(`{}`),
	}
}

// lockFile holds the SQLite write lock from another connection, as another
// process would, until the returned function is called.
func lockFile(t *testing.T, path string) (unlock func()) {
	t.Helper()
	db, err := OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		db.Close()
		t.Fatal(err)
	}
	var once sync.Once
	unlock = func() {
		once.Do(func() {
			tx.Rollback()
			db.Close()
		})
	}
	t.Cleanup(unlock)
	return unlock
}

// watchBatches reports the size of each batch the writer takes. Call it
// before the first Append.
func watchBatches(s *Store) <-chan int {
	ch := make(chan int, 100)
	s.onBatch = func(n int) { ch <- n }
	return ch
}

func nextBatch(t *testing.T, batches <-chan int) int {
	t.Helper()
	select {
	case n := <-batches:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("the writer took no batch within 10s")
		return 0
	}
}

// waitQueued waits until the writer's queue holds n requests.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.reqs) != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d requests, want %d", len(s.reqs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

type appendOutcome struct {
	events []eventstore.Event
	err    error
}

// appendAsync starts an Append and returns the channel its outcome arrives on.
func appendAsync(ctx context.Context, s *Store, stream string, expected int64, evs ...eventstore.Event) <-chan appendOutcome {
	ch := make(chan appendOutcome, 1)
	go func() {
		got, err := s.Append(ctx, stream, expected, evs)
		ch <- appendOutcome{got, err}
	}()
	return ch
}

// TestBatchIsolatesFailingRequests puts a successful request, a duplicate
// id, a conflict against an earlier request of the same batch, and another
// success into one transaction.
func TestBatchIsolatesFailingRequests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := MustOpenStore(t, path, Options{})
	batches := watchBatches(s)
	unlock := lockFile(t, path)

	// The writer takes this one and then waits for the lock, so the next
	// requests queue up and form one batch.
	blocker := appendAsync(t.Context(), s, "party-blocker", eventstore.NoStream, testEvent("party.identified"))
	if n := nextBatch(t, batches); n != 1 {
		t.Fatalf("first batch has %d requests, want 1", n)
	}

	a := testEvent("party.identified")
	dup := testEvent("party.identified")
	dup.ID = a.ID
	outA := appendAsync(t.Context(), s, "party-a", eventstore.NoStream, a, testEvent("party.revised"))
	waitQueued(t, s, 1)
	// The duplicate is the second event, so the first one is inserted and
	// must be rolled back without leaving a gap in positions.
	outDup := appendAsync(t.Context(), s, "party-b", eventstore.NoStream, testEvent("party.identified"), dup)
	waitQueued(t, s, 2)
	outConflict := appendAsync(t.Context(), s, "party-a", eventstore.NoStream, testEvent("party.identified"))
	waitQueued(t, s, 3)
	outC := appendAsync(t.Context(), s, "party-a", 2, testEvent("party.revised"))
	waitQueued(t, s, 4)
	commitsBefore := s.Stats().Commits
	unlock()

	if r := <-blocker; r.err != nil {
		t.Fatalf("blocker: %v", r.err)
	}
	if n := nextBatch(t, batches); n != 4 {
		t.Errorf("second batch has %d requests, want 4", n)
	}
	rA, rDup, rConflict, rC := <-outA, <-outDup, <-outConflict, <-outC
	if rA.err != nil || rC.err != nil {
		t.Fatalf("successful requests failed: %v, %v", rA.err, rC.err)
	}
	if !errors.Is(rDup.err, eventstore.ErrDuplicateID) || !errors.Is(rDup.err, eventstore.ErrInvalid) {
		t.Errorf("duplicate id: err = %v, want ErrDuplicateID", rDup.err)
	}
	var ce *eventstore.ConflictError
	if !errors.As(rConflict.err, &ce) || ce.Actual != 2 {
		t.Errorf("conflict: err = %v, want *ConflictError with Actual 2 (from the earlier request in the batch)", rConflict.err)
	}
	if got := s.Stats().Commits - commitsBefore; got != 2 {
		t.Errorf("commits = %d, want 2 (blocker, then one batch)", got)
	}
	all := mustReadAll(t, s)
	checkChain(t, all)
	var got []string
	for _, ev := range all {
		got = append(got, fmt.Sprintf("%d %s v%d", ev.Position, ev.Stream, ev.Version))
	}
	want := []string{"1 party-blocker v1", "2 party-a v1", "3 party-a v2", "4 party-a v3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all[1:], append(rA.events, rC.events...)); diff != "" {
		t.Errorf("returned events differ from stored (-stored +returned):\n%s", diff)
	}
}

// TestAppendCancellation checks both sides of the documented semantics: a
// request cancelled while queued writes nothing and returns ctx.Err(); a
// request already taken into a batch is decided by the commit.
func TestAppendCancellation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := MustOpenStore(t, path, Options{})
	batches := watchBatches(s)
	unlock := lockFile(t, path)

	takenCtx, cancelTaken := context.WithCancel(t.Context())
	taken := appendAsync(takenCtx, s, "party-taken", eventstore.NoStream, testEvent("party.identified"))
	nextBatch(t, batches) // the writer has taken it and waits for the lock

	queuedCtx, cancelQueued := context.WithCancel(t.Context())
	queued := appendAsync(queuedCtx, s, "party-queued", eventstore.NoStream, testEvent("party.identified"))
	waitQueued(t, s, 1)

	cancelQueued()
	select {
	case r := <-queued:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("queued request: err = %v, want context.Canceled", r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("queued request did not return after cancel")
	}

	cancelTaken()
	select {
	case r := <-taken:
		t.Fatalf("taken request returned before its batch committed: %v", r.err)
	case <-time.After(50 * time.Millisecond):
	}
	unlock()
	if r := <-taken; r.err != nil {
		t.Errorf("taken request: err = %v, want success decided by the commit", r.err)
	}

	all := mustReadAll(t, s)
	if len(all) != 1 || all[0].Stream != "party-taken" {
		t.Errorf("log = %+v, want only the taken request's event", all)
	}
}

// TestCommitFailureReportsUnavailable holds the write lock past the busy
// timeout: the batch fails with ErrUnavailable, nothing is written, and the
// next append continues the chain.
func TestCommitFailureReportsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s := MustOpenStore(t, path, Options{BusyTimeout: 100 * time.Millisecond})
	mustAppend(t, s, "party-a", eventstore.NoStream, testEvent("party.identified"))
	unlock := lockFile(t, path)

	_, err := s.Append(t.Context(), "party-a", 1, []eventstore.Event{testEvent("party.revised")})
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("append while locked: err = %v, want ErrUnavailable", err)
	}
	unlock()
	mustAppend(t, s, "party-a", 1, testEvent("party.revised"))
	all := mustReadAll(t, s)
	if len(all) != 2 {
		t.Errorf("log holds %d events, want 2", len(all))
	}
	checkChain(t, all)
}

func TestClosedStore(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, "party-a", eventstore.NoStream, testEvent("party.identified"))

	subErr := make(chan error, 1)
	go func() {
		subErr <- s.Subscribe(t.Context(), 0, func(context.Context, []eventstore.Event) error { return nil })
	}()
	time.Sleep(20 * time.Millisecond)

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}
	select {
	case err := <-subErr:
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("Subscribe on Close returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Subscribe did not return after Close")
	}

	ctx := t.Context()
	_, err = s.Append(ctx, "party-a", 1, []eventstore.Event{testEvent("party.revised")})
	checkClosed(t, "Append", err)
	_, err = s.ReadStream(ctx, "party-a", 1)
	checkClosed(t, "ReadStream", err)
	_, err = s.ReadAll(ctx, 0, 10)
	checkClosed(t, "ReadAll", err)
	_, _, err = s.Head(ctx)
	checkClosed(t, "Head", err)
	err = s.Subscribe(ctx, 0, func(context.Context, []eventstore.Event) error { return nil })
	checkClosed(t, "Subscribe", err)
}

func checkClosed(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("%s after Close: err = %v, want ErrClosed", op, err)
	}
}

// TestCloseCommitsQueuedAppends races Close against appends: every append
// either succeeds, and its events survive a reopen, or returns ErrClosed.
func TestCloseCommitsQueuedAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 64
	var (
		wg sync.WaitGroup
		mu sync.Mutex
		ok = make(map[string]bool)
	)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			stream := fmt.Sprintf("party-%d", i)
			_, err := s.Append(t.Context(), stream, eventstore.NoStream, []eventstore.Event{testEventConcurrent(i)})
			switch {
			case err == nil:
				mu.Lock()
				ok[stream] = true
				mu.Unlock()
			case !errors.Is(err, eventstore.ErrClosed):
				t.Errorf("append %d: %v", i, err)
			}
		})
	}
	close(start)
	time.Sleep(time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()

	s = MustOpenStore(t, path, Options{})
	all := mustReadAll(t, s)
	checkChain(t, all)
	stored := make(map[string]bool)
	for _, ev := range all {
		stored[ev.Stream] = true
	}
	if diff := cmp.Diff(ok, stored, cmpEmptyMap); diff != "" {
		t.Errorf("acknowledged appends vs stored streams (-acknowledged +stored):\n%s", diff)
	}
	t.Logf("%d of %d appends acknowledged before Close", len(ok), n)
}

var cmpEmptyMap = cmp.FilterValues(func(x, y map[string]bool) bool { return len(x) == 0 && len(y) == 0 },
	cmp.Comparer(func(_, _ map[string]bool) bool { return true }))

func TestAppendRejectsTimeOutsideFormat(t *testing.T) {
	s := MustOpenStore(t, filepath.Join(t.TempDir(), "events.db"), Options{})
	for _, tm := range []time.Time{
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 12, 31, 23, 0, 0, 0, time.UTC),
	} {
		ev := testEvent("party.identified")
		ev.Time = tm
		if _, err := s.Append(t.Context(), "party-a", eventstore.AnyVersion, []eventstore.Event{ev}); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("Append with time %s: err = %v, want ErrInvalid", tm, err)
		}
	}
	if all := mustReadAll(t, s); len(all) != 0 {
		t.Errorf("log holds %d events, want 0", len(all))
	}
}

func TestReadAllRejectsBadLimit(t *testing.T) {
	s := MustOpenStore(t, filepath.Join(t.TempDir(), "events.db"), Options{})
	if _, err := s.ReadAll(t.Context(), 0, 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadAll limit 0: err = %v, want ErrInvalid", err)
	}
}

// Issue 18, finding 11: database files are created readable by their
// owner only, the WAL too.
func TestDatabaseFilesArePrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	s, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), mode)
		}
	}
}
