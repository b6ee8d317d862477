package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"sync"

	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/handlers/lease"
)

// Lease names of serve's background jobs: each runs on one replica at a
// time (docs/nats.md, "Each job once"). A webhook subscription's worker
// holds webhooks.LeasePrefix + its id.
const (
	leaseCheckpoints = "checkpoints"
	leaseBus         = "bus"
	leaseReminders   = "reminders"
)

// leaseBucket is the shared bucket of the leases; its TTL is the lease
// time.
const leaseBucket = "leases"

var (
	holdersMu sync.Mutex
	holders   = map[*app]string{}
)

// holderName names this replica in lease values: host, process and a
// random suffix (tests run several replicas in one process).
func holderName(a *app) string {
	holdersMu.Lock()
	defer holdersMu.Unlock()
	if h, ok := holders[a]; ok {
		return h
	}
	host, _ := os.Hostname()
	h := fmt.Sprintf("%s:%d:%s", host, os.Getpid(), rand.Text()[:8])
	holders[a] = h
	return h
}

// leaseRunner returns the runner of a's background jobs: on NATS, leases
// in the shared bucket, so that every job runs on one replica at a time and
// is taken over within lease.DefaultTTL*4/3 when that replica dies; on
// SQLite (one process per database, lock.go) a runner that just runs them.
func leaseRunner(ctx context.Context, a *app, component string) (*lease.Runner, error) {
	r := &lease.Runner{Holder: holderName(a), TTL: lease.DefaultTTL, Logger: a.logger.With("component", component)}
	kv, err := a.bucket(ctx, leaseBucket, jetstream.BucketOptions{TTL: lease.DefaultTTL,
		Description: "partyledger: leases of the background jobs (one replica runs each)"})
	if err != nil {
		return nil, fmt.Errorf("open the lease bucket: %w", err)
	}
	r.KV = kv
	return r, nil
}

// runLeased runs job under the lease key in the background until stop is
// called; stop waits for it to end (a clean stop releases the lease at
// once).
func runLeased(r *lease.Runner, key string, job func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx, key, job)
	}()
	return func() { cancel(); <-done }
}
