package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeAPI answers the requests plload sends the way partyledger does, and
// counts them by kind. It checks the token on every request.
func fakeAPI(t *testing.T, reads, writes *atomic.Int64) *httptest.Server {
	var ids atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer plt_test" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		switch {
		case r.Method == "GET":
			reads.Add(1)
			fmt.Fprint(w, `{}`)
		case r.Method == "POST":
			w.WriteHeader(http.StatusCreated)
			fmt.Fprintf(w, `{"id":"i%d","version":1}`, ids.Add(1))
		case r.Method == "PATCH":
			writes.Add(1)
			fmt.Fprint(w, `{}`)
		default:
			http.Error(w, "unexpected", http.StatusMethodNotAllowed)
		}
	}))
}

func TestRunPhases(t *testing.T) {
	var reads, writes atomic.Int64
	srv := fakeAPI(t, &reads, &writes)
	defer srv.Close()
	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL, "-token", "plt_test", "-clients", "4",
		"-duration", "200ms", "-requests", "400", "-phases", "read,write,mixed"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== phase read", "== phase write", "== phase mixed", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if m := regexp.MustCompile(`(?m)^(read|write) +\d+ +[1-9]`).FindString(out.String()); m != "" {
		t.Errorf("errors reported: %q\n%s", m, out.String())
	}
	if reads.Load() == 0 || writes.Load() == 0 {
		t.Errorf("%d reads, %d writes sent", reads.Load(), writes.Load())
	}
	// -requests bounds each phase.
	if n := reads.Load() + writes.Load(); n > 3*400 {
		t.Errorf("%d requests sent, more than 3 phases of 400", n)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	for _, u := range []string{"http://10.0.0.1:8080", "http://192.168.1.10", "https://example.com", "ftp://127.0.0.1", "127.0.0.1:8080"} {
		err := run(context.Background(), []string{"-url", u, "-token", "plt_test", "-duration", "10ms"}, &bytes.Buffer{})
		if err == nil {
			t.Errorf("%s: accepted", u)
		}
	}
	for _, u := range []string{"http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"} {
		if err := loopbackOnly(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}
