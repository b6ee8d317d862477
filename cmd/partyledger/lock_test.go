package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
