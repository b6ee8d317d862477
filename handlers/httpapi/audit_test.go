package httpapi

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// sliceLog is an EventLog over a slice, without ReadPositions: the
// run-by-run path.
type sliceLog struct {
	evs   []eventstore.Event
	reads int
}

func (l *sliceLog) ReadAll(_ context.Context, after int64, limit int) ([]eventstore.Event, error) {
	l.reads++
	var out []eventstore.Event
	for _, ev := range l.evs {
		if ev.Position > after && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (l *sliceLog) Head(context.Context) (int64, string, error) {
	return int64(len(l.evs)), "", nil
}

func TestReadPositionsByRuns(t *testing.T) {
	log := &sliceLog{}
	for i := int64(1); i <= 30; i++ {
		log.evs = append(log.evs, eventstore.Event{Position: i, ID: fmt.Sprint(i)})
	}
	got, err := ReadPositions(context.Background(), log, []int64{2, 3, 4, 9, 20, 21})
	if err != nil {
		t.Fatal(err)
	}
	var pos []int64
	for _, ev := range got {
		pos = append(pos, ev.Position)
	}
	if diff := cmp.Diff([]int64{2, 3, 4, 9, 20, 21}, pos); diff != "" || log.reads != 3 {
		t.Fatalf("positions (-want +got):\n%s; %d reads, want 3 runs", diff, log.reads)
	}
	// A position the log does not have means the log lost events.
	if _, err := ReadPositions(context.Background(), log, []int64{29, 30, 31}); err == nil {
		t.Fatal("a missing position was not reported")
	}
}

func TestEventFilterFromQuery(t *testing.T) {
	f, err := EventFilterFromQuery(url.Values{"party": {"p"}, "type": {"party.revised"}, "after": {"7"},
		"limit": {"500"}, "from": {"2026-01-01T10:00:00+01:00"}})
	if err != nil || f.Party != "p" || f.Type != "party.revised" || f.After != 7 || f.Limit != 500 ||
		f.From.Hour() != 9 || f.From.Location().String() != "UTC" {
		t.Fatalf("%+v %v", f, err)
	}
	if f, err := EventFilterFromQuery(url.Values{}); err != nil || f.Limit != 100 {
		t.Fatalf("default limit: %+v %v", f, err)
	}
	for _, q := range []string{"limit=501", "limit=0", "limit=x", "after=-2", "to=soon", "bogus=1", "actor=a&actor=b"} {
		v, _ := url.ParseQuery(q)
		if _, err := EventFilterFromQuery(v); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("%s: %v, want EINVALID", q, err)
		}
	}
}
