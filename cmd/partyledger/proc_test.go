package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file runs the real partyledger binary as a child process, for the
// crash tests (kill -9) and the peak-RSS benchmark.

// MustBuildBinary builds this package into a temporary directory and
// returns the path of the executable. It is built without -race even under
// go test -race: the child's speed matters, the parent's checks do not.
func MustBuildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "partyledger")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveProc is `partyledger serve` running as a child process.
type serveProc struct {
	cmd   *exec.Cmd
	URL   string
	Token string // printed on the first start of a database only
	// Listening is how long the process took to listen.
	Listening time.Duration
	logs      *syncBuffer
	done      chan struct{} // closed when the process has exited and been reaped
	state     *os.ProcessState
}

var servingRe = regexp.MustCompile(`msg="partyledger serving" addr=(\S+)`)

// MustStartServe starts `bin serve` on 127.0.0.1:0 with the given database
// and extra flags, and waits until it listens. The admin token is read from
// stdout, the address from the "partyledger serving" log line on stderr.
// The process is killed at the end of the test if still running.
func MustStartServe(tb testing.TB, bin, db string, extra ...string) *serveProc {
	tb.Helper()
	args := append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--log-format", "text",
		"--log-level", "info", "--rate-limit", "0", "--auth-failures-per-minute", "0"}, extra...)
	_, statErr := os.Stat(db)
	fresh := statErr != nil // serve prints an admin token on a new database only
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &serveProc{cmd: cmd, logs: &syncBuffer{}, done: make(chan struct{})}
	tokenc := make(chan string, 1)
	addrc := make(chan string, 1)
	var pipes sync.WaitGroup
	pipes.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "plt_") {
				tokenc <- line
			}
		}
	})
	pipes.Go(func() {
		// Keep reading stderr for the process's whole life: a full pipe
		// would block its logger. Only the lines that matter are kept.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if m := servingRe.FindStringSubmatch(line); m != nil && !found {
				found = true
				addrc <- m[1]
			}
			if !strings.Contains(line, `msg=http `) {
				fmt.Fprintln(p.logs, line)
			}
		}
	})
	go func() {
		pipes.Wait()
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.done)
	}()
	tb.Cleanup(func() { p.Kill() })

	select {
	case p.URL = <-addrc:
	case <-p.done:
		tb.Fatalf("serve exited before listening: %v\n%s", p.state, p.logs)
	case <-time.After(10 * time.Minute): // startup work grows with the log
		p.Kill()
		tb.Fatalf("serve did not listen within 10 minutes\n%s", p.logs)
	}
	p.Listening = time.Since(start)
	if fresh {
		// Printed before listening, but read by another goroutine. On a
		// shared store (NATS) only the replica that creates the first
		// admin token prints it; the others say so in their log.
		wait := time.After(30 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
	waitToken:
		for {
			select {
			case p.Token = <-tokenc:
				break waitToken
			case <-tick.C:
				if strings.Contains(p.logs.String(), "no first admin token created") ||
					strings.Contains(p.logs.String(), "an admin token exists") {
					break waitToken
				}
			case <-wait:
				tb.Fatalf("serve printed no admin token on a new database\n%s", p.logs)
			}
		}
	}
	return p
}

// Kill sends SIGKILL and waits until the process has been reaped.
func (p *serveProc) Kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM (graceful shutdown) and waits up to 30 s, then kills.
func (p *serveProc) Stop(tb testing.TB) {
	tb.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
		tb.Errorf("serve did not stop within 30 s of SIGTERM\n%s", p.logs)
	}
}

// PeakRSS returns the peak resident set size of the exited process, from
// the rusage that wait4 reports (ru_maxrss, which Linux keeps in KiB and
// which equals VmHWM in /proc/<pid>/status at exit).
func (p *serveProc) PeakRSS() int64 { return peakRSS(p.state) }

func peakRSS(st *os.ProcessState) int64 {
	if st == nil {
		return 0
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// VmHWM reads the peak resident set size of the running process from
// /proc/<pid>/status, in bytes (0 if it cannot be read).
func (p *serveProc) VmHWM() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// WaitReady polls /readyz until it answers 200 (the store is reachable and
// the read model has caught up) or the timeout passes.
func (p *serveProc) WaitReady(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	if err := waitReady(p.URL, timeout); err != nil {
		tb.Fatalf("%v\n%s", err, p.logs)
	}
}

func waitReady(base string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("serve not ready within %s (last: %v)", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call sends one API request with token and decodes a 2xx JSON answer into
// out. It returns the status, or an error when no answer came.
func call(ctx context.Context, c *http.Client, base, token, method, path string, body, out any) (int, error) {
	st, _, err := request(ctx, c, base, token, method, path, body, out)
	return st, err
}

// callHeader is call for answers whose headers matter; hdr receives them.
func callHeader(ctx context.Context, c *http.Client, base, token, method, path string, body any, hdr *http.Header) (int, error) {
	st, h, err := request(ctx, c, base, token, method, path, body, nil)
	*hdr = h
	return st, err
}

func request(ctx context.Context, c *http.Client, base, token, method, path string, body, out any) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, resp.Header, err
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: decode %.200q: %w", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}
