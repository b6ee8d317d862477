package console

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemorySessionsExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	m := &MemorySessions{Now: func() time.Time { return now }}
	start := now
	if err := m.Put(ctx, "k", Session{Actor: "alice", Role: "editor", Method: "token", CreatedAt: start, LastSeen: start}); err != nil {
		t.Fatal(err)
	}
	// Used every 7 hours, the session lives until the absolute limit.
	for now.Sub(start) < MaxAge-7*time.Hour {
		now = now.Add(7 * time.Hour)
		s, err := m.Get(ctx, "k")
		if err != nil {
			t.Fatalf("after %v: %v", now.Sub(start), err)
		}
		s.LastSeen = now
		_ = m.Put(ctx, "k", s)
	}
	now = start.Add(MaxAge)
	if _, err := m.Get(ctx, "k"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("at the absolute limit: %v, want ErrNoSession", err)
	}

	// Idle for 8 hours ends it.
	start = now
	_ = m.Put(ctx, "idle", Session{Actor: "bob", CreatedAt: start, LastSeen: start})
	now = start.Add(IdleTimeout - time.Second)
	if _, err := m.Get(ctx, "idle"); err != nil {
		t.Fatalf("just before the idle limit: %v", err)
	}
	now = start.Add(IdleTimeout)
	if _, err := m.Get(ctx, "idle"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("at the idle limit: %v, want ErrNoSession", err)
	}
	_ = m.Put(ctx, "x", Session{CreatedAt: now, LastSeen: now})
	if err := m.Delete(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "x"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("after Delete: %v", err)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "/",
		"/register?scope=x":    "/register?scope=x",
		"//evil.example/":      "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
		"/login":               "/",
		"/x\r\nSet-Cookie: a":  "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplatesParse(t *testing.T) {
	tmplOnce.Do(loadTemplates)
	if tmplErr != nil {
		t.Fatal(tmplErr)
	}
	for _, name := range []string{"login", "error", "dashboard", "register", "party", "party_form", "requirement_form", "changes", "reviews"} {
		if tmpls[name] == nil {
			t.Errorf("no template %s", name)
		}
	}
	for _, a := range []string{"style.css", "print.css", "live.js"} {
		if assets[a].hash == "" {
			t.Errorf("no asset %s", a)
		}
	}
}
