// Package embedded runs a NATS server with JetStream inside the process:
// the single-node deployment of the JetStream store (serve --store
// embedded-nats) and the real server that tests run on a loopback port.
package embedded

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config configures [Start].
type Config struct {
	// Name is the server name; empty lets the server pick one. Cluster
	// members need distinct names.
	Name string
	// StoreDir is JetStream's storage directory. Required.
	StoreDir string
	// Host and Port are the client listener. Empty Host means 127.0.0.1;
	// Port 0 means 4222, -1 a random free port.
	Host string
	Port int
	// MonitorPort is the HTTP monitoring port (/varz, /jsz): 0 for none,
	// -1 for a random free port.
	MonitorPort int
	// SyncAlways makes JetStream fsync every write before acknowledging it
	// (sync_interval: always): what the durable profile requires.
	SyncAlways bool
	// Cluster, if set, makes the server a member of a JetStream cluster.
	Cluster *Cluster
	// Ready bounds the wait for the server to accept connections (and, in
	// a cluster, to see a JetStream meta leader). Zero means 30 s.
	Ready time.Duration
}

// Cluster is the route configuration of a cluster member.
type Cluster struct {
	// Name is the cluster name, the same on every member.
	Name string
	// Host and Port are this member's route listener.
	Host string
	Port int
	// Routes are the route URLs of the members (nats-route://host:port);
	// a member's own URL may be among them.
	Routes []string
}

// Start starts a server and waits until it accepts connections. Shut it
// down with Shutdown and WaitForShutdown.
func Start(cfg Config) (*server.Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("embedded: StoreDir is required")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Ready == 0 {
		cfg.Ready = 30 * time.Second
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		SyncAlways: cfg.SyncAlways,
		HTTPHost:   cfg.Host,
		HTTPPort:   cfg.MonitorPort,
		NoLog:      true,
		NoSigs:     true,
	}
	if cfg.Cluster != nil {
		opts.Cluster = server.ClusterOpts{Name: cfg.Cluster.Name, Host: cfg.Cluster.Host, Port: cfg.Cluster.Port}
		for _, r := range cfg.Cluster.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("embedded: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(cfg.Ready) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded: server not ready within %s", cfg.Ready)
	}
	return s, nil
}

// WaitJetStream waits until JetStream on s can serve requests: enabled and,
// in a cluster, with a known meta leader.
func WaitJetStream(s *server.Server, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if s.JetStreamEnabled() && (!s.JetStreamIsClustered() || s.JetStreamIsCurrent()) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embedded: JetStream on %s not ready within %s", s.Name(), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
