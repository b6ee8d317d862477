package auth

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/partyledger/partyledger/eventstore/sqlite"
)

func MustOpenAccessLog(tb testing.TB, now *time.Time) *AccessLog {
	tb.Helper()
	db, err := sqlite.OpenDB(filepath.Join(tb.TempDir(), "security.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	l, err := NewAccessLog(tb.Context(), db)
	if err != nil {
		tb.Fatal(err)
	}
	l.Now = func() time.Time { return *now }
	return l
}

// Identical denials within a minute are one line; retention deletes lines
// whose last denial is older than the period.
func TestAccessLogAggregatesAndPrunes(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := MustOpenAccessLog(t, &now)
	e := AccessEntry{Client: "203.0.113.5", Method: "GET", Path: "/api/v1/parties", Outcome: "unauthenticated", Status: 401}
	for range 50 {
		if err := l.Record(t.Context(), e); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	// A minute after the run began, a new line starts.
	now = now.Add(20 * time.Second)
	if err := l.Record(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	other := e
	other.Outcome, other.Status = "auth_rate_limited", 429
	if err := l.Record(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(t.Context(), AccessQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Count != 50 || got[1].Count != 1 || got[2].Outcome != "auth_rate_limited" {
		t.Fatalf("lines %+v", got)
	}
	if !got[0].LastTime.Equal(got[0].Time.Add(49 * time.Second)) {
		t.Fatalf("first line spans %s..%s", got[0].Time, got[0].LastTime)
	}

	// 90 days later the old lines go; a fresh one stays.
	now = now.Add(DefaultAccessLogRetention)
	if err := l.Record(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	n, err := l.Prune(t.Context(), now.Add(-DefaultAccessLogRetention+time.Second))
	if err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want 3", n, err)
	}
	got, _ = l.Query(t.Context(), AccessQuery{})
	if len(got) != 1 || got[0].Count != 1 {
		t.Fatalf("after pruning: %+v", got)
	}
}
