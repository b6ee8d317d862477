package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// No command of the API appends more than one event, so the all-or-nothing
// promise for multi-event appends is tested on the store itself: a child
// process (this test binary, re-run as TestCrashHelperAppend) appends
// batches of 2 to 64 events from eight goroutines and prints each
// acknowledged batch; the parent kills it with SIGKILL at a random moment.

const (
	envCrashHelper = "PARTYLEDGER_CRASH_HELPER"
	envCrashDB     = "PARTYLEDGER_CRASH_DB"
)

// batchEvent is the data of each event of a helper batch.
type batchEvent struct {
	Batch string `json:"batch"`
	I     int    `json:"i"`
	N     int    `json:"n"`
}

// TestCrashAppendAtomic checks after every kill that each acknowledged batch
// is in the log whole, that no batch is in it partly (every stored batch
// has all its events, at consecutive positions and versions), and that the
// log passes integrity_check and the hash chain.
func TestCrashAppendAtomic(t *testing.T) {
	if testing.Short() {
		t.Skip("crash suite: skipped with -short")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var db string
	var acked map[string]int // batch id -> size
	for it := range *crashIterations {
		if it%25 == 0 { // a fresh log now and then keeps the long run's checks short
			db = filepath.Join(t.TempDir(), "events.db")
			acked = map[string]int{}
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelperAppend$")
		cmd.Env = append(os.Environ(), envCrashHelper+"=append", envCrashDB+"="+db)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Acknowledgements are read until the pipe closes: everything the
		// child wrote before it died is still in the pipe.
		sc := bufio.NewScanner(out)
		started := make(chan struct{})
		var once sync.Once
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			for sc.Scan() {
				once.Do(func() { close(started) })
				lines <- sc.Text()
			}
		}()
		select {
		case <-started:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatal("helper did not start appending")
		}
		time.Sleep(time.Duration(20+rng.IntN(400)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		n := 0
		for line := range lines {
			f := strings.Fields(line)
			if len(f) != 3 || f[0] != "ack" {
				continue
			}
			size, _ := strconv.Atoi(f[2])
			acked[f[1]] = size
			n++
		}
		cmd.Wait()

		store, evs := mustOpenLog(t, db)
		mustWholeBatches(t, evs, acked)
		store.Close()
		t.Logf("iteration %d: %d events, %d batches acknowledged (%d this time)", it, len(evs), len(acked), n)
	}
}

// mustWholeBatches checks that every batch in the log is complete and
// contiguous, and that every acknowledged batch is in it.
func mustWholeBatches(t *testing.T, evs []eventstore.Event, acked map[string]int) {
	t.Helper()
	seen := map[string][]eventstore.Event{}
	var order []string
	for _, ev := range evs {
		var d batchEvent
		if err := json.Unmarshal(ev.Data, &d); err != nil || d.Batch == "" {
			t.Fatalf("event %d: not a helper event: %s", ev.Position, ev.Data)
		}
		if len(seen[d.Batch]) == 0 {
			order = append(order, d.Batch)
		}
		seen[d.Batch] = append(seen[d.Batch], ev)
	}
	for _, b := range order {
		batch := seen[b]
		var first batchEvent
		json.Unmarshal(batch[0].Data, &first)
		if len(batch) != first.N {
			t.Fatalf("batch %s is in the log with %d of its %d events: half applied", b, len(batch), first.N)
		}
		for i, ev := range batch {
			var d batchEvent
			json.Unmarshal(ev.Data, &d)
			if d.I != i || ev.Position != batch[0].Position+int64(i) || ev.Version != batch[0].Version+int64(i) {
				t.Fatalf("batch %s: event %d is at position %d version %d (i=%d): not contiguous", b, i, ev.Position, ev.Version, d.I)
			}
		}
	}
	for b, n := range acked {
		if len(seen[b]) != n {
			t.Fatalf("acknowledged batch %s of %d events: %d in the log", b, n, len(seen[b]))
		}
	}
}

// TestCrashHelperAppend is the child of TestCrashAppendAtomic; it does
// nothing unless PARTYLEDGER_CRASH_HELPER=append. It appends until killed
// (or for 60 s at most) and prints "ack <batch> <size>" for each append that
// returned without error.
func TestCrashHelperAppend(t *testing.T) {
	if os.Getenv(envCrashHelper) != "append" {
		t.Skip("helper process of TestCrashAppendAtomic")
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, os.Getenv(envCrashDB), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(60 * time.Second)
	for w := range crashWriters {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			stream := fmt.Sprintf("batch-%d-%s", w, uuid.NewString())
			version := int64(0)
			for time.Now().Before(deadline) {
				batch := uuid.NewString()
				n := 2 + rng.IntN(63)
				evs := make([]eventstore.Event, n)
				for i := range evs {
					data, _ := json.Marshal(batchEvent{Batch: batch, I: i, N: n})
					evs[i] = eventstore.Event{ID: uuid.Must(uuid.NewV7()).String(), Type: "crash.batch", Schema: 1,
						Time: time.Now(), Actor: "crash", Reason: "crash test", Trigger: "other", Data: data}
				}
				if _, err := store.Append(ctx, stream, version, evs); err != nil {
					t.Error(err)
					return
				}
				version += int64(n)
				mu.Lock()
				fmt.Printf("ack %s %d\n", batch, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	store.Close()
}
