package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore/sqlite"
)

// busCheckpoint reads the event bus forwarder's checkpoint from the
// read-model file beside the running server.
func busCheckpoint(tb testing.TB, readModel string) int64 {
	tb.Helper()
	db, err := sqlite.OpenDB(readModel, sqlite.WithQueryOnly())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	var pos int64
	err = db.QueryRow(`SELECT position FROM bus_checkpoints WHERE name = 'forwarder'`).Scan(&pos)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		tb.Fatal(err)
	}
	return pos
}

// TestServeForwardsToBus checks that serve runs the event bus: every event
// written over HTTP is published, and the forwarder's checkpoint, kept in
// the event log's file (the read model is disposable), reaches the head of
// the log.
func TestServeForwardsToBus(t *testing.T) {
	s := MustRunServe(t, "")
	for i := range 3 {
		mustStatus(t, s.do(t, "POST", "/api/v1/parties", map[string]any{"name": fmt.Sprintf("Party %d", i),
			"category": "supplier", "scope": "external"}, nil), http.StatusCreated)
	}
	want := int64(eventCount(t, s.DB))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := busCheckpoint(t, s.DB)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("bus checkpoint %d, want the head %d", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
