package checkpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/checkpoint"
	"github.com/partyledger/partyledger/eventstore/sqlite"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const hash1 = "a3b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"

func mustKeys(tb testing.TB, name string) (*checkpoint.Signer, *checkpoint.Verifier) {
	tb.Helper()
	skey, vkey, err := checkpoint.GenerateKey(name)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := checkpoint.NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	if s.VerifierKey() != vkey {
		tb.Fatalf("verifier key %q, want %q", s.VerifierKey(), vkey)
	}
	return s, v
}

func TestSignOpen(t *testing.T) {
	s, v := mustKeys(t, "partyledger")
	c := checkpoint.Checkpoint{Origin: "example.org/register", Position: 1042, Hash: hash1, Time: t0}
	note, err := s.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(note, "\n")
	if lines[0] != "example.org/register" || lines[1] != "1042" || lines[3] != "time 2026-03-02T09:00:00.000000000Z" ||
		lines[4] != "" || !strings.HasPrefix(lines[5], "— partyledger ") {
		t.Fatalf("note layout:\n%s", note)
	}
	got, err := checkpoint.Open([]byte(note), v)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("opened %+v, want %+v", got, c)
	}

	_, other := mustKeys(t, "partyledger")
	tampered := strings.Replace(note, "\n1042\n", "\n1043\n", 1)
	for name, tc := range map[string]struct {
		note string
		v    *checkpoint.Verifier
		want error
	}{
		"tampered position": {tampered, v, checkpoint.ErrBadSignature},
		"tampered hash":     {strings.Replace(note, lines[2], "q6sxwtPk9aa3yNng8aKzxNXm96i5wNHi86S1xtfo+aA=", 1), v, checkpoint.ErrBadSignature},
		"another key":       {note, other, checkpoint.ErrUnknownKey},
		"no signature":      {strings.Join(lines[:4], "\n") + "\n", v, checkpoint.ErrMalformed},
		"bad position":      {strings.Replace(note, "\n1042\n", "\n01042\n", 1), v, checkpoint.ErrMalformed},
		"garbage":           {"hello", v, checkpoint.ErrMalformed},
	} {
		if _, err := checkpoint.Open([]byte(tc.note), tc.v); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", name, err, tc.want)
		}
	}
	// CRLF line ends (a note pasted through a mail client) still verify.
	if _, err := checkpoint.Open([]byte(strings.ReplaceAll(note, "\n", "\r\n")), v); err != nil {
		t.Errorf("CRLF: %v", err)
	}
	// An empty log has no checkpoint; an origin with a space is refused.
	if _, err := s.Sign(checkpoint.Checkpoint{Origin: "x", Position: 0, Time: t0}); !errors.Is(err, checkpoint.ErrMalformed) {
		t.Errorf("empty log signed: %v", err)
	}
	if _, err := s.Sign(checkpoint.Checkpoint{Origin: "a b", Position: 1, Hash: hash1, Time: t0}); !errors.Is(err, checkpoint.ErrMalformed) {
		t.Errorf("bad origin signed: %v", err)
	}
}

func TestKeys(t *testing.T) {
	for _, bad := range []string{"", "PRIVATE+KEY+x+00000000+AAAA", "x+00000000+AAAA", "a b+00000000+AA"} {
		if _, err := checkpoint.NewSigner(bad); !errors.Is(err, checkpoint.ErrMalformed) {
			t.Errorf("NewSigner(%q): %v", bad, err)
		}
		if _, err := checkpoint.NewVerifier(bad); !errors.Is(err, checkpoint.ErrMalformed) {
			t.Errorf("NewVerifier(%q): %v", bad, err)
		}
	}
	if _, _, err := checkpoint.GenerateKey("with+plus"); !errors.Is(err, checkpoint.ErrMalformed) {
		t.Errorf("GenerateKey with '+': %v", err)
	}
	// A key whose hash does not match is refused.
	skey, vkey, _ := checkpoint.GenerateKey("k")
	parts := strings.Split(vkey, "+")
	parts[1] = "00000000"
	if _, err := checkpoint.NewVerifier(strings.Join(parts, "+")); !errors.Is(err, checkpoint.ErrMalformed) {
		t.Errorf("wrong key hash accepted: %v", err)
	}
	_ = skey
}

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "partyledger.checkpoint-key")
	s1, created, err := checkpoint.LoadOrCreateKey(path, "partyledger")
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	s2, created, err := checkpoint.LoadOrCreateKey(path, "ignored")
	if err != nil || created || s2.VerifierKey() != s1.VerifierKey() {
		t.Fatalf("reload: %v created=%v same=%v", err, created, s2.VerifierKey() == s1.VerifierKey())
	}
	v, err := checkpoint.ReadVerifier(path + checkpoint.PublicKeySuffix)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := checkpoint.ReadVerifier(path) // the signer key file works too
	if err != nil || vs.Name() != v.Name() {
		t.Fatalf("verifier from the signer key: %v", err)
	}
	note, _ := s1.Sign(checkpoint.Checkpoint{Origin: "o", Position: 3, Hash: hash1, Time: t0})
	if _, err := checkpoint.Open([]byte(note), v); err != nil {
		t.Fatal(err)
	}

	// Racing creators agree on one key.
	race := filepath.Join(t.TempDir(), "race-key")
	keys := make([]string, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := checkpoint.LoadOrCreateKey(race, "partyledger")
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = s.VerifierKey()
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("racing creators got different keys: %q", keys)
		}
	}
}

// appendN appends n events to s, one per Append.
func appendN(tb testing.TB, s eventstore.Store, n int) {
	tb.Helper()
	for i := 0; i < n; i++ {
		data, _ := json.Marshal(map[string]int{"i": i})
		_, err := s.Append(context.Background(), "party-x", eventstore.AnyVersion, []eventstore.Event{{
			ID: uuid.NewString(), Type: "party.revised", Schema: 1, Time: t0, Actor: "a", Data: data}})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func TestMaker(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	table, err := checkpoint.OpenTable(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	signer, verifier := mustKeys(t, "test")
	now := t0
	m := &checkpoint.Maker{Log: store, Signer: signer, Table: table, Origin: "test-log",
		EveryEvents: 10, Every: time.Hour, Now: func() time.Time { return now }}

	// An empty log gets no checkpoint.
	if _, made, err := m.Make(ctx); err != nil || made {
		t.Fatalf("empty log: made=%v %v", made, err)
	}
	appendN(t, store, 1)
	// A log never signed is signed at once.
	if s, made, err := m.MakeIfDue(ctx); err != nil || !made || s.Position != 1 {
		t.Fatalf("first checkpoint: %+v made=%v %v", s, made, err)
	}
	appendN(t, store, 3)
	if _, made, err := m.MakeIfDue(ctx); err != nil || made {
		t.Fatalf("3 more events, not due: made=%v %v", made, err)
	}
	now = now.Add(2 * time.Hour) // due by time
	s, made, err := m.MakeIfDue(ctx)
	if err != nil || !made || s.Position != 4 {
		t.Fatalf("due by time: %+v made=%v %v", s, made, err)
	}
	c, err := checkpoint.Open([]byte(s.Note), verifier)
	if err != nil || c.Position != 4 || c.Origin != "test-log" || !c.Time.Equal(now) {
		t.Fatalf("signed note %+v %v", c, err)
	}
	_, headHash, _ := store.Head(ctx)
	if c.Hash != headHash {
		t.Fatalf("signed hash %s, head %s", c.Hash, headHash)
	}
	if _, made, _ := m.MakeIfDue(ctx); made {
		t.Fatal("made a checkpoint without new events")
	}
	appendN(t, store, 10)
	if s, made, err := m.MakeIfDue(ctx); err != nil || !made || s.Position != 14 {
		t.Fatalf("due by count: %+v made=%v %v", s, made, err)
	}
	appendN(t, store, 1)
	if s, made, err := m.Make(ctx); err != nil || !made || s.Position != 15 {
		t.Fatalf("on demand: %+v made=%v %v", s, made, err)
	}
	all, err := table.List(ctx)
	if err != nil || len(all) != 4 || all[0].Position != 1 || all[1].Position != 4 || all[3].Position != 15 {
		t.Fatalf("stored %+v %v", all, err)
	}
	latest, ok, err := table.Latest(ctx)
	if err != nil || !ok || latest.Note != all[3].Note || latest.Origin != "test-log" {
		t.Fatalf("latest %+v %v %v", latest, ok, err)
	}

	// Tampering behind the last checkpoint: the next one is refused.
	appendN(t, store, 3)
	raw, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER events_no_update`,
		`UPDATE events SET reason = 'edited' WHERE position = 17`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, made, err := m.Make(ctx); !errors.Is(err, checkpoint.ErrNotExtended) || made {
		t.Fatalf("tampered log: made=%v err=%v", made, err)
	}
	if latest, _, _ := table.Latest(ctx); latest.Position != 15 {
		t.Fatalf("latest moved to %d", latest.Position)
	}
}

func TestMakerRunMakesAFinalCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "events.db")
	store, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	db, err := sqlite.OpenDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	table, err := checkpoint.OpenTable(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := mustKeys(t, "test")
	m := &checkpoint.Maker{Log: store, Signer: signer, Table: table}
	appendN(t, store, 3)
	// A log never signed before is signed at once.
	if s, made, err := m.MakeIfDue(ctx); err != nil || !made || s.Position != 3 {
		t.Fatalf("first checkpoint %+v made=%v err=%v", s, made, err)
	}
	appendN(t, store, 2)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.Run(rctx, 10*time.Millisecond); close(done) }()
	time.Sleep(50 * time.Millisecond)
	if s, _, _ := table.Latest(ctx); s.Position != 3 {
		t.Fatalf("a checkpoint before it was due: %+v", s)
	}
	cancel()
	<-done
	s, ok, err := table.Latest(ctx)
	if err != nil || !ok || s.Position != 5 || s.Origin != checkpoint.DefaultOrigin {
		t.Fatalf("final checkpoint %+v %v %v", s, ok, err)
	}
}
