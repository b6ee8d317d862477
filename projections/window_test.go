package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// fakeWindowReads holds two reviews and a checkpoint.
type fakeWindowReads struct {
	reviews []projections.ReviewView
	cp      int64
}

func (f fakeWindowReads) LastReview(context.Context) (projections.ReviewView, bool, error) {
	if len(f.reviews) == 0 {
		return projections.ReviewView{}, false, nil
	}
	return f.reviews[len(f.reviews)-1], true, nil
}

func (f fakeWindowReads) Review(_ context.Context, id string) (projections.ReviewView, error) {
	for _, r := range f.reviews {
		if r.ID == id {
			return r, nil
		}
	}
	return projections.ReviewView{}, domain.Errorf(domain.ENOTFOUND, "no management review %s", id)
}

func (f fakeWindowReads) Checkpoint(context.Context) (int64, error) { return f.cp, nil }

func TestResolveWindow(t *testing.T) {
	reads := fakeWindowReads{cp: 90, reviews: []projections.ReviewView{
		{ID: "r1", Position: 10, ReviewWindowView: projections.ReviewWindowView{ConsideredTo: 9}},
		{ID: "r2", Position: 40, ReviewWindowView: projections.ReviewWindowView{ConsideredTo: 38}}}}
	at := time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		since, until string
		reads        fakeWindowReads
		want         projections.Window
		sinceKind    string
		untilKind    string
		code         string // error code, "" for none
	}{
		{"", "", reads, projections.Window{After: 38, Until: 90}, "review", "now", ""},
		{"last-review", "now", fakeWindowReads{cp: 7}, projections.Window{Until: 7}, "beginning", "now", ""},
		{"beginning", "review:r2", reads, projections.Window{Until: 38}, "beginning", "review", ""},
		{"review:r1", "position:30", reads, projections.Window{After: 9, Until: 30}, "review", "position", ""},
		{"position:5", "position:0", reads, projections.Window{After: 5, Until: -1}, "position", "position", ""},
		{"time:2026-01-31T10:00:00+01:00", "time:2026-01-31T09:00:00Z", reads,
			projections.Window{FromTime: at, UntilTime: at}, "time", "time", ""},
		{"review:nope", "", reads, projections.Window{}, "", "", domain.ENOTFOUND},
		{"", "review:nope", reads, projections.Window{}, "", "", domain.ENOTFOUND},
		{"yesterday", "", reads, projections.Window{}, "", "", domain.EINVALID},
		{"position:-1", "", reads, projections.Window{}, "", "", domain.EINVALID},
		{"time:31/01/2026", "", reads, projections.Window{}, "", "", domain.EINVALID},
		{"", "later", reads, projections.Window{}, "", "", domain.EINVALID},
		{"", "position:x", reads, projections.Window{}, "", "", domain.EINVALID},
	}
	for _, tt := range tests {
		w, sb, ub, err := projections.ResolveWindow(context.Background(), tt.reads, tt.since, tt.until)
		if tt.code != "" {
			if got := domain.ErrorCode(err); got != tt.code {
				t.Errorf("since=%q until=%q: error %v (code %q), want code %q", tt.since, tt.until, err, got, tt.code)
			}
			continue
		}
		if err != nil {
			t.Errorf("since=%q until=%q: %v", tt.since, tt.until, err)
			continue
		}
		if w != tt.want || sb.Kind != tt.sinceKind || ub.Kind != tt.untilKind {
			t.Errorf("since=%q until=%q: got %+v (%s, %s), want %+v (%s, %s)", tt.since, tt.until,
				w, sb.Kind, ub.Kind, tt.want, tt.sinceKind, tt.untilKind)
		}
	}
}
