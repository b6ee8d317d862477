package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOneOwner: while serve owns a database, a second serve and rebuild
// refuse at once, naming the holder's pid and address; read-only commands
// work beside it; once serve stops, the lock is free again.
func TestOneOwner(t *testing.T) {
	s := MustRunServe(t, "")
	s.do(t, "POST", "/api/v1/parties", map[string]any{"name": "Acme Bank", "category": "customer", "scope": "external", "reason": "r"}, nil)
	holder := fmt.Sprintf("pid %d", os.Getpid())
	addr := strings.TrimPrefix(s.URL, "http://")

	err := runServe(context.Background(), serveConfig{store: storeFlags{db: s.DB}, addr: "127.0.0.1:0", logFormat: "text", logLevel: "warn"}, io.Discard, io.Discard)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), holder) || !strings.Contains(err.Error(), addr) {
		t.Errorf("second serve: err = %v; want ErrLocked naming %s and %s", err, holder, addr)
	}
	out, code := runCLI(t, "rebuild", "--db", s.DB)
	if code == 0 || !strings.Contains(out, "locked") || !strings.Contains(out, holder) {
		t.Errorf("rebuild beside serve: exit %d, output %q; want a refusal naming %s", code, out, holder)
	}
	out, code = runCLI(t, "register", "--db", s.DB)
	if code != 0 || !strings.Contains(out, "Acme Bank") {
		t.Errorf("register beside serve: exit %d, output %q", code, out)
	}
	if out, code := runCLI(t, "verify", "--db", s.DB); code != 0 {
		t.Errorf("verify beside serve: exit %d, output %q", code, out)
	}

	s.stop()
	if out, code := runCLI(t, "rebuild", "--db", s.DB); code != 0 {
		t.Errorf("rebuild after serve stopped: exit %d, output %q", code, out)
	}
}

// TestFailedStartMintsNothing: a serve that cannot bind its address stops
// before it creates the one-time admin token.
func TestFailedStartMintsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	db := filepath.Join(t.TempDir(), "partyledger.db")
	var stdout syncBuffer
	err = runServe(context.Background(), serveConfig{store: storeFlags{db: db}, addr: ln.Addr().String(), logFormat: "text", logLevel: "warn"}, &stdout, io.Discard)
	if err == nil {
		t.Fatal("serve on a taken port started")
	}
	if strings.Contains(stdout.String(), "plt_") {
		t.Errorf("a failed start printed an admin token:\n%s", stdout.String())
	}
	// The next, good start mints it.
	s := MustRunServe(t, db)
	if s.Token == "" {
		t.Fatal("no admin token on the first good start")
	}
	resp := s.do(t, "GET", "/api/v1/parties", nil, nil)
	mustStatus(t, resp, http.StatusOK)
}

// TestKilledOwnerLeavesNoStaleLock runs the real binary: a serve killed
// with SIGKILL leaves its holder line in the lock file, but the kernel has
// released the flock, so a new serve on the same database starts at once
// (the stale line does not block it) and still has the write the killed one
// acknowledged; a second live serve beside the new one is then refused with
// a non-zero exit and a message naming the new holder's pid and address.
func TestKilledOwnerLeavesNoStaleLock(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := MustBuildBinary(t)
	db := filepath.Join(t.TempDir(), "partyledger.db")

	first := MustStartServe(t, bin, db)
	first.WaitReady(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := &http.Client{Timeout: 30 * time.Second}
	var created struct {
		ID string `json:"id"`
	}
	st, err := call(ctx, c, first.URL, first.Token, "POST", "/api/v1/parties",
		map[string]any{"name": "Acme Bank", "category": "customer", "scope": "external", "reason": "r"}, &created)
	if err != nil || st != http.StatusCreated {
		t.Fatalf("create: %d %v", st, err)
	}
	firstPID := first.cmd.Process.Pid
	first.Kill()

	stale, err := os.ReadFile(db + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stale), fmt.Sprintf("pid %d ", firstPID)) {
		t.Fatalf("lock file after kill -9 = %q; want the killed holder's line (pid %d) left behind, or this test proves nothing", stale, firstPID)
	}

	second := MustStartServe(t, bin, db)
	second.WaitReady(t, time.Minute)
	secondPID := second.cmd.Process.Pid
	st, err = call(ctx, c, second.URL, first.Token, "GET", "/api/v1/parties/"+created.ID, nil, nil)
	if err != nil || st != http.StatusOK {
		t.Errorf("the acknowledged party after kill -9 and restart: %d %v", st, err)
	}
	holder, err := os.ReadFile(db + ".lock")
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(second.URL, "http://")
	if want := fmt.Sprintf("pid %d ", secondPID); !strings.Contains(string(holder), want) || !strings.Contains(string(holder), addr) {
		t.Errorf("lock file of the new owner = %q; want %q and %s", holder, want, addr)
	}

	// A third serve beside the live second one is refused at once.
	tctx, tcancel := context.WithTimeout(ctx, time.Minute)
	defer tcancel()
	third := exec.CommandContext(tctx, bin, "serve", "--db", db, "--addr", "127.0.0.1:0", "--log-format", "text")
	out, err := third.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("third serve beside a live one: err %v (want a non-zero exit)\n%s", err, out)
	}
	if tctx.Err() != nil {
		t.Fatalf("third serve did not exit at once\n%s", out)
	}
	for _, want := range []string{"locked", fmt.Sprintf("pid %d ", secondPID), addr} {
		if !strings.Contains(string(out), want) {
			t.Errorf("third serve's message lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "plt_") {
		t.Errorf("a refused serve printed an admin token:\n%s", out)
	}
	second.Stop(t)
}
