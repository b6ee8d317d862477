package main

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/eventstore/synth"
)

// TestCrashProjections kills the projection runner in the middle of its
// batches: `partyledger rebuild` while it replays the log, and `serve`
// while it catches up from the checkpoint the previous kill left. After each
// kill the read model must be a consistent prefix of the log (each
// projection's rows are exactly those of the events up to its checkpoint:
// the change feed has one row per event, none applied twice, none skipped);
// after the last one, catching up must give exactly a clean rebuild.
func TestCrashProjections(t *testing.T) {
	if testing.Short() {
		t.Skip("crash suite: skipped with -short")
	}
	ctx := context.Background()
	bin := MustBuildBinary(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "partyledger.db")
	rm := filepath.Join(dir, "partyledger.readmodel.db")
	cleanRM := filepath.Join(t.TempDir(), "clean.readmodel.db")
	o := synth.Options{Events: 8_000, Parties: 100, Reviews: 4}
	logPath, err := synth.File(ctx, dir, o, func(ctx context.Context, path string) (eventstore.Store, error) {
		return sqlite.Open(ctx, path, sqlite.Options{Synchronous: sqlite.SynchronousNormal})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(logPath, db); err != nil {
		t.Fatal(err)
	}

	// The reference: a full rebuild by the binary into a file of its own.
	// How long it takes here sets the range of kill times.
	t0 := time.Now()
	if out, err := exec.Command(bin, "rebuild", "--db", db, "--read-model", cleanRM).CombinedOutput(); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out)
	}
	full := time.Since(t0)
	store, evs := mustOpenLog(t, db)
	clean := mustViews(t, mustOpenReadModel(t, cleanRM, store))
	if clean.Checkpoint != int64(len(evs)) {
		t.Fatalf("clean rebuild at %d of %d events", clean.Checkpoint, len(evs))
	}
	var cleanFeed []int64
	for _, c := range clean.Changes {
		cleanFeed = append(cleanFeed, c.Position)
	}
	cleanReviews := map[int64]bool{}
	for _, r := range clean.Reviews {
		cleanReviews[r.Position] = true
	}
	store.Close()
	t.Logf("a full rebuild of %d events by the binary takes %s", len(evs), full)

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	for it := range *crashIterations {
		// Even iterations kill a rebuild (which starts from zero), odd ones
		// a serve that resumes from the checkpoint the rebuild's kill left.
		// The kill comes a few milliseconds after the read model has passed
		// a random position, so it lands inside the next batch.
		args := []string{"rebuild", "--db", db}
		if it%2 == 1 {
			args = []string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--log-level", "warn"}
		}
		before := readCheckpoint(rm)
		target := 1 + rng.Int64N(int64(len(evs))*9/10)
		if it%2 == 1 {
			// serve resumes after before; a complete read model gives it
			// nothing to do, and it is killed at once.
			target = min(before+1+rng.Int64N(max(1, int64(len(evs))-before-1)), int64(len(evs)))
		}
		cmd := exec.Command(bin, args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wiped := it%2 == 1 // a rebuild first wipes the read model
		reached := false
		for deadline := time.Now().Add(3*full + 10*time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
			cp := readCheckpoint(rm)
			if cp < target {
				wiped = true
			}
			if wiped && cp >= target {
				reached = true
				break
			}
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		if _, err := os.Stat(rm); err != nil {
			t.Logf("iteration %d: killed %s before it created the read model", it, args[0])
			continue
		}
		mustIntegrityOK(t, rm)
		cps := mustConsistentPrefix(t, rm, cleanFeed, cleanReviews)
		t.Logf("iteration %d: killed %s (from %d, aimed after %d, reached: %v) at checkpoints %v", it, args[0], before, target, reached, cps)
	}

	// serve resumes from where the last kill left the read model.
	p := MustStartServe(t, bin, db)
	p.WaitReady(t, 2*time.Minute)
	p.Stop(t)
	store, _ = mustOpenLog(t, db)
	mustEqualViews(t, "resumed read model", clean, mustViews(t, mustOpenReadModel(t, rm, store)))
}

// mustConsistentPrefix checks the read model a killed process left in the
// file at path: the change feed holds exactly the feed rows of a clean
// rebuild up to its checkpoint, each once, and the reviews table exactly
// the reviews up to its checkpoint. It returns the checkpoints.
func mustConsistentPrefix(t *testing.T, path string, cleanFeed []int64, cleanReviews map[int64]bool) map[string]int64 {
	t.Helper()
	db, err := sqlite.OpenDB(path, sqlite.WithQueryOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cps := map[string]int64{}
	rows, err := db.Query(`SELECT name, position FROM checkpoints`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			t.Fatal(err)
		}
		cps[name] = pos
	}
	rows.Close()

	feed := queryInts(t, db, `SELECT position FROM changes ORDER BY position`)
	var want []int64
	for _, p := range cleanFeed {
		if p <= cps["changes"] {
			want = append(want, p)
		}
	}
	if diff := cmp.Diff(want, feed); diff != "" {
		t.Fatalf("change feed at checkpoint %d is not the clean feed's prefix (-want +got):\n%s", cps["changes"], diff)
	}
	if ids := queryInts(t, db, `SELECT COUNT(*) - COUNT(DISTINCT event_id) FROM changes`); ids[0] != 0 {
		t.Fatalf("change feed holds %d events twice", ids[0])
	}
	for _, p := range queryInts(t, db, `SELECT position FROM reviews`) {
		if p > cps["reviews"] || !cleanReviews[p] {
			t.Fatalf("review at position %d is not in the clean read model up to checkpoint %d", p, cps["reviews"])
		}
	}
	var nReviews int
	for p := range cleanReviews {
		if p <= cps["reviews"] {
			nReviews++
		}
	}
	if got := len(queryInts(t, db, `SELECT position FROM reviews`)); got != nReviews {
		t.Fatalf("%d reviews up to checkpoint %d, want %d", got, cps["reviews"], nReviews)
	}
	if v := queryInts(t, db, `SELECT COALESCE(MAX(version), 0) FROM parties`); cps["register"] == 0 && v[0] != 0 {
		t.Fatalf("register at checkpoint 0 holds parties")
	}
	return cps
}

// readCheckpoint returns the highest projection checkpoint of the read model
// in the file at path, or -1 while it cannot be read (no file yet, no table
// yet, a lock).
func readCheckpoint(path string) int64 {
	if _, err := os.Stat(path); err != nil {
		return -1
	}
	db, err := sqlite.OpenDB(path, sqlite.WithQueryOnly(), sqlite.WithBusyTimeout(0))
	if err != nil {
		return -1
	}
	defer db.Close()
	var cp int64
	// MAX, not MIN: during a rebuild the register writes its rows (and
	// checkpoint) only at the end (projections.ReadModel.Rebuild), so the
	// lowest checkpoint stays 0 until then and would put every kill after
	// the replay.
	if err := db.QueryRow(`SELECT MAX(position) FROM checkpoints`).Scan(&cp); err != nil {
		return -1
	}
	return cp
}

func queryInts(t *testing.T, db *sql.DB, q string) []int64 {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", strings.TrimSpace(q), err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
