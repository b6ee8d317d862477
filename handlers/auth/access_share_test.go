package auth

import (
	"testing"
	"time"
)

// TestSharedAccessLog runs two replicas' security logs, each in its own
// file, shared through one bucket: each shows the other's lines, with the
// same ids, aggregated counts follow, and retention prunes them from both.
func TestSharedAccessLog(t *testing.T) {
	ctx := t.Context()
	now := time.Now().UTC()
	kvs := MustOpenBuckets(t, "T_security", 2)
	a, b := MustOpenAccessLog(t, &now), MustOpenAccessLog(t, &now)
	for i, l := range []*AccessLog{a, b} {
		stop, err := l.Share(ctx, kvs[i], func(err error) { t.Error(err) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
	}
	deny := func(l *AccessLog, client string, n int) {
		for range n {
			if err := l.Record(ctx, AccessEntry{Client: client, Method: "GET", Path: "/api/v1/parties", Outcome: "unauthenticated", Status: 401}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// wait polls until every log shows want (client -> count).
	wait := func(want map[string]int64) []AccessEntry {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var got [][]AccessEntry
			ok := true
			for _, l := range []*AccessLog{a, b} {
				es, err := l.Query(ctx, AccessQuery{Limit: 500})
				if err != nil {
					t.Fatal(err)
				}
				m := map[string]int64{}
				for _, e := range es {
					m[e.Client] += e.Count
				}
				ok = ok && len(m) == len(want)
				for c, n := range want {
					ok = ok && m[c] == n
				}
				got = append(got, es)
			}
			if ok {
				for i := range got[0] {
					if got[0][i] != got[1][i] {
						t.Fatalf("the replicas disagree: %+v vs %+v", got[0][i], got[1][i])
					}
				}
				return got[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("after 5 s the logs show %+v and %+v, want counts %v", got[0], got[1], want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	deny(a, "198.51.100.1", 3)
	deny(b, "198.51.100.2", 1)
	es := wait(map[string]int64{"198.51.100.1": 3, "198.51.100.2": 1})
	if len(es) != 2 || es[0].ID >= es[1].ID || es[0].ID == 0 {
		t.Fatalf("entries %+v: want two lines with increasing shared ids", es)
	}
	deny(a, "198.51.100.1", 2)
	deny(b, "198.51.100.3", 1)
	es = wait(map[string]int64{"198.51.100.1": 5, "198.51.100.2": 1, "198.51.100.3": 1})
	if paged, err := b.Query(ctx, AccessQuery{After: es[0].ID, Limit: 500}); err != nil || len(paged) != 2 {
		t.Fatalf("paged after %d: %+v %v", es[0].ID, paged, err)
	}

	now = now.Add(DefaultAccessLogRetention + time.Hour)
	if _, err := b.Prune(ctx, now.Add(-DefaultAccessLogRetention)); err != nil {
		t.Fatal(err)
	}
	wait(map[string]int64{})
}
