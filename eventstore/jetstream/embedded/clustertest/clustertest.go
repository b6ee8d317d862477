// Package clustertest runs a JetStream cluster of embedded NATS servers for
// tests, each server in a child process so that a test can kill -9 one:
// no shutdown, no step-down, no flush.
//
// The child processes are the test binary itself. A test package that uses
// [MustRunCluster] calls [RunNodeIfAsked] first thing in its TestMain:
//
//	func TestMain(m *testing.M) {
//		clustertest.RunNodeIfAsked()
//		os.Exit(m.Run())
//	}
package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore/jetstream/embedded"
)

// EnvNode, when set, makes the test binary run one embedded NATS server
// with the JSON embedded.Config it holds instead of the tests.
const EnvNode = "PARTYLEDGER_TEST_NATS_NODE"

// RunNodeIfAsked runs a node and exits if this process was started as one
// (EnvNode is set); otherwise it returns at once.
func RunNodeIfAsked() {
	cfg := os.Getenv(EnvNode)
	if cfg == "" {
		return
	}
	var c embedded.Config
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, "node config:", err)
		os.Exit(2)
	}
	s, err := embedded.Start(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "node:", err)
		os.Exit(1)
	}
	fmt.Println("READY", s.ClientURL())
	s.WaitForShutdown()
	os.Exit(0)
}

// FreePorts returns n TCP ports that were free a moment ago on 127.0.0.1.
func FreePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// Node is a cluster member running in a child process.
type Node struct {
	Name string
	// URL is the client URL, known once started.
	URL string
	// Monitor is the HTTP monitoring URL (/varz), for serve --nats-monitor.
	Monitor string
	Config  embedded.Config

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts the node's process (again, after Kill, on the same storage
// directory) and waits until it accepts clients.
func (n *Node) Start(tb testing.TB) {
	tb.Helper()
	cfg, _ := json.Marshal(n.Config)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), EnvNode+"="+string(cfg))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if url, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- url
			}
		}
		cmd.Wait()
		close(done)
	}()
	select {
	case n.URL = <-ready:
	case <-done:
		tb.Fatalf("node %s exited before it was ready", n.Name)
	case <-time.After(60 * time.Second):
		tb.Fatalf("node %s not ready within 60 s", n.Name)
	}
}

// Kill kills the node's process with SIGKILL and waits until it is gone.
func (n *Node) Kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-done
}

// MustRunCluster starts a JetStream cluster of n servers named n1..nN
// (SyncAlways, each with its own storage directory and a monitoring port),
// each in a child process, routed to each other on fixed loopback ports.
// The processes are killed at the end of the test.
func MustRunCluster(tb testing.TB, n int) []*Node {
	tb.Helper()
	ports := FreePorts(tb, 3*n)
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", ports[n+i]))
	}
	nodes := make([]*Node, n)
	for i := range n {
		name := fmt.Sprintf("n%d", i+1)
		nodes[i] = &Node{Name: name, Monitor: fmt.Sprintf("http://127.0.0.1:%d", ports[2*n+i]),
			Config: embedded.Config{Name: name, StoreDir: tb.TempDir(), Port: ports[i], MonitorPort: ports[2*n+i], SyncAlways: true,
				Cluster: &embedded.Cluster{Name: "partyledger", Host: "127.0.0.1", Port: ports[n+i], Routes: routes}}}
	}
	tb.Cleanup(func() {
		for _, nd := range nodes {
			nd.Kill()
		}
	})
	var wg sync.WaitGroup
	for _, nd := range nodes {
		wg.Go(func() { nd.Start(tb) })
	}
	wg.Wait()
	return nodes
}

// URLs returns the client URLs of nodes, comma-separated (nats.Connect's form).
func URLs(nodes []*Node) string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.URL)
	}
	return strings.Join(urls, ",")
}

// Leader returns the node that leads stream, asking through nc; it waits
// up to 5 s for the stream to have a leader.
func Leader(ctx context.Context, nc *nats.Conn, stream string, nodes []*Node) (*Node, error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := js.Stream(rctx, stream)
		cancel()
		if err == nil && s.CachedInfo().Cluster != nil && s.CachedInfo().Cluster.Leader != "" {
			name := s.CachedInfo().Cluster.Leader
			for _, n := range nodes {
				if n.Name == name {
					return n, nil
				}
			}
			return nil, fmt.Errorf("stream %s is led by %s, not one of the nodes", stream, name)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no leader of stream %s within 5 s (last: %v)", stream, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitStreamCurrent waits until stream has a leader and every replica is
// online and current (after a node came back, before relying on it), or
// the timeout passes.
func WaitStreamCurrent(ctx context.Context, nc *nats.Conn, stream string, timeout time.Duration) error {
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := js.Stream(rctx, stream)
		cancel()
		if err == nil {
			cl := s.CachedInfo().Cluster
			if cl == nil {
				return fmt.Errorf("stream %s is not clustered", stream)
			}
			current := cl.Leader != ""
			for _, r := range cl.Replicas {
				current = current && r.Current && !r.Offline
			}
			if current {
				return nil
			}
			err = fmt.Errorf("leader %q, replicas %+v", cl.Leader, cl.Replicas)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stream %s not current within %s: %v", stream, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
