package reminders

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// ParseAt parses a time of day "HH:MM" (24-hour clock).
func ParseAt(s string) (hour, minute int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("%q: want a time of day HH:MM", s)
	}
	return t.Hour(), t.Minute(), nil
}

// NextRun returns the first hour:minute in loc strictly after now. A time
// that does not exist on a day (a DST gap) moves forward with the clock.
func NextRun(now time.Time, hour, minute int, loc *time.Location) time.Time {
	l := now.In(loc)
	next := time.Date(l.Year(), l.Month(), l.Day(), hour, minute, 0, 0, loc)
	for !next.After(now) {
		l = l.AddDate(0, 0, 1)
		next = time.Date(l.Year(), l.Month(), l.Day(), hour, minute, 0, 0, loc)
	}
	return next
}

// Schedule runs Run once a day at Hour:Minute in Location, never at start:
// the first run is the next such time after Loop starts. It reads the
// clock with time.Now and waits with timers, so tests drive it with
// testing/synctest.
type Schedule struct {
	Hour, Minute int
	Location     *time.Location
	Run          func(ctx context.Context) error
	Logger       *slog.Logger
}

// Loop runs until ctx is done. A failing run is logged; the next day's run
// happens as planned.
func (s *Schedule) Loop(ctx context.Context) {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	for {
		now := time.Now()
		next := NextRun(now, s.Hour, s.Minute, loc)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("scheduled reminders failed", "err", err)
		}
	}
}
