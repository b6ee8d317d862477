package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
)

func unlimited(c *serveConfig) { c.rateLimit, c.authFails = 0, 0 }

// TestBackupDuringWrites takes an online backup while eight clients write,
// then checks the copy: integrity_check and the hash chain pass, every
// write acknowledged before the backup began is in it, it is a prefix of
// the live log, and serve runs on it showing those writes.
func TestBackupDuringWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("runs writers for a while; skipped with -short")
	}
	s := MustRunServe(t, "", unlimited)
	client := &http.Client{Timeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu   sync.Mutex
		acks []ack
		wg   sync.WaitGroup
	)
	for w := range crashWriters {
		wg.Go(func() {
			crashWriter(ctx, client, s.URL, s.Token, 0, w, func(a ack) {
				mu.Lock()
				defer mu.Unlock()
				acks = append(acks, a)
			})
		})
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		if n >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes acknowledged in 30 s", n)
		}
	}

	mu.Lock()
	before := slices.Clone(acks)
	mu.Unlock()
	out := filepath.Join(t.TempDir(), "backup.db")
	var stdout bytes.Buffer
	root := newRootCmd(&stdout, io.Discard)
	root.SetArgs([]string{"backup", "--db", s.DB, "--out", out})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("backup: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // writes go on after the backup
	cancel()
	wg.Wait()
	s.stop()
	if !strings.Contains(stdout.String(), "events up to position") {
		t.Errorf("backup output: %q", stdout.String())
	}

	_, backup := mustOpenLog(t, out)
	mustHaveAcks(t, backup, before)
	_, live := mustOpenLog(t, s.DB)
	if len(backup) > len(live) {
		t.Fatalf("backup holds %d events, the live log %d", len(backup), len(live))
	}
	for i, ev := range backup {
		if ev.Hash != live[i].Hash {
			t.Fatalf("backup event %d differs from the live log", ev.Position)
		}
	}
	t.Logf("%d writes acknowledged before the backup, %d in all; backup holds %d of %d events",
		len(before), len(acks), len(backup), len(live))

	// Restore: serve runs on the copy, with the tokens it holds.
	restored := filepath.Join(t.TempDir(), "restored.db")
	if err := copyFile(out, restored); err != nil {
		t.Fatal(err)
	}
	r := MustRunServe(t, restored, unlimited)
	if r.Token != "" {
		t.Fatal("restored database lost its tokens: serve created a new admin token")
	}
	if err := waitReady(r.URL, time.Minute); err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, a := range before {
		if id, ok := strings.CutPrefix(a.stream, domain.PartyStreamPrefix); ok {
			want[id] = max(want[id], a.version)
		}
	}
	mustShowParties(t, client, r.URL, s.Token, want)

	// The backup refuses to overwrite a file.
	root = newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"backup", "--db", restored, "--out", out})
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup over an existing file: %v", err)
	}
}
