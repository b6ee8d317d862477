package reminders_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/partyledger/partyledger/handlers/reminders"
)

func TestScheduleRunsDailyNeverAtStart(t *testing.T) {
	loc := berlin(t)
	synctest.Test(t, func(t *testing.T) {
		// The bubble's clock starts at 2000-01-01 00:00 UTC = 01:00 in Berlin.
		var runs atomic.Int32
		var at []time.Time
		ctx, cancel := context.WithCancel(context.Background())
		s := &reminders.Schedule{Hour: 9, Minute: 0, Location: loc, Run: func(context.Context) error {
			runs.Add(1)
			at = append(at, time.Now())
			return nil
		}}
		done := make(chan struct{})
		go func() { defer close(done); s.Loop(ctx) }()
		synctest.Wait()
		if n := runs.Load(); n != 0 {
			t.Fatalf("%d runs at start-up, want 0", n)
		}
		time.Sleep(7*time.Hour + 59*time.Minute) // 08:59 Berlin
		synctest.Wait()
		if n := runs.Load(); n != 0 {
			t.Fatalf("%d runs before 09:00, want 0", n)
		}
		time.Sleep(2 * time.Minute) // 09:01
		synctest.Wait()
		if n := runs.Load(); n != 1 {
			t.Fatalf("%d runs after 09:00, want 1", n)
		}
		time.Sleep(48 * time.Hour)
		synctest.Wait()
		if n := runs.Load(); n != 3 {
			t.Fatalf("%d runs after two more days, want 3", n)
		}
		cancel()
		<-done
		for _, r := range at {
			if l := r.In(loc); l.Hour() != 9 || l.Minute() != 0 {
				t.Errorf("ran at %s, want 09:00 Berlin", l)
			}
		}
	})
}

func TestNextRunAcrossDST(t *testing.T) {
	loc := berlin(t)
	// 2026-03-29: clocks go from 02:00 to 03:00 in Berlin.
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, loc)
	got := reminders.NextRun(from, 9, 0, loc)
	if want := time.Date(2026, 3, 29, 9, 0, 0, 0, loc); !got.Equal(want) {
		t.Errorf("NextRun = %s, want %s", got, want)
	}
	if got.Sub(from) != 20*time.Hour {
		t.Errorf("waited %s, want 20h (a day with 23 hours)", got.Sub(from))
	}
	if _, _, err := reminders.ParseAt("9:00"); err == nil {
		t.Error("ParseAt(9:00) accepted")
	}
	if h, m, err := reminders.ParseAt("07:30"); err != nil || h != 7 || m != 30 {
		t.Errorf("ParseAt(07:30) = %d, %d, %v", h, m, err)
	}
}
