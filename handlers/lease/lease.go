// Package lease runs background jobs once across the replicas of a
// service: each job holds a lease, a key in a shared JetStream key-value
// bucket whose value names the holder and which expires unless renewed.
//
// The bucket's TTL is the lease time: every renewal rewrites the key, and a
// key not rewritten for that long vanishes, so a replica that dies (kill -9,
// power loss, partition) loses its leases within one TTL and another one
// takes the job over within TTL plus one poll interval. A holder that cannot
// renew stops its job itself before the TTL runs out (fencing by time), so
// two replicas never run the same job at the same moment in the steady state.
//
// With no bucket (the SQLite store, one process per database, see
// cmd/partyledger/lock.go), every lease is held at once and for good: the
// same code runs the job, without the coordination.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	pljs "github.com/partyledger/partyledger/eventstore/jetstream"
)

// DefaultTTL is how long a lease outlives its last renewal: a dead
// holder's job is taken over within DefaultTTL + DefaultTTL/3.
const DefaultTTL = 15 * time.Second

// Runner runs jobs under leases in one bucket.
type Runner struct {
	// KV is the bucket of leases, created with a TTL equal to TTL (see
	// jetstream.Store.Bucket); nil means every lease is held (one process).
	KV jetstream.KeyValue
	// Holder names this replica in the lease values (e.g. host:pid:port).
	Holder string
	// TTL is the bucket's TTL; zero means DefaultTTL.
	TTL    time.Duration
	Logger *slog.Logger
	// now is the clock, for tests.
	now func() time.Time
}

func (r *Runner) ttl() time.Duration {
	if r.TTL > 0 {
		return r.TTL
	}
	return DefaultTTL
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (r *Runner) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// Run runs job under the lease named key until ctx ends or job finishes:
// it waits for the lease, calls job with a context that ends when the lease
// is lost, and waits for the lease again when it was lost or job failed.
// Run returns nil when job returned nil by itself while holding the lease
// (the job is finished, e.g. its subscription was deleted), and ctx's error
// when ctx ended. Without a bucket, job simply runs under ctx.
func (r *Runner) Run(ctx context.Context, key string, job func(context.Context) error) error {
	if r.KV == nil {
		for {
			err := job(ctx)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil {
				return nil
			}
			r.logger().Error("job failed; run again", "job", key, "err", err)
			if !sleep(ctx, r.ttl()/3) {
				return ctx.Err()
			}
		}
	}
	for {
		rev, err := r.acquire(ctx, key)
		if err == nil {
			r.logger().Debug("lease taken", "job", key, "holder", r.Holder)
			if r.hold(ctx, key, rev, job) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !sleep(ctx, r.ttl()/3) {
			return ctx.Err()
		}
	}
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// errHeld means another holder has the lease.
var errHeld = errors.New("lease: held by another replica")

// acquire creates the lease key (it exists only while some holder renews
// it) and returns its revision.
func (r *Runner) acquire(ctx context.Context, key string) (uint64, error) {
	rev, err := r.KV.Create(ctx, key, []byte(r.Holder))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return 0, errHeld
	}
	if err != nil {
		r.logger().Warn("lease: cannot reach the lease bucket", "job", key, "err", err)
		return 0, fmt.Errorf("lease %s: %w", key, err)
	}
	return rev, nil
}

// hold runs job while renewing the lease; it reports whether job finished
// by itself without error. The job's context ends when a renewal is refused
// (someone else holds the key) or when no renewal succeeded for 2/3 of the
// TTL, before the key can expire and another replica take it.
func (r *Runner) hold(ctx context.Context, key string, rev uint64, job func(context.Context) error) bool {
	ttl := r.ttl()
	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- job(jobCtx) }()
	renewed := r.clock()
	tick := time.NewTicker(ttl / 5)
	defer tick.Stop()
	release := func() {
		// Best effort: the key expires anyway.
		dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer dcancel()
		_ = r.KV.Delete(dctx, key, jetstream.LastRevision(rev))
	}
	for {
		select {
		case err := <-result:
			// The job ended by itself (finished or failed) or because ctx
			// ended: either way the lease is given up at once.
			release()
			if err != nil && ctx.Err() == nil {
				r.logger().Error("job failed; the lease is given up", "job", key, "err", err)
			}
			return err == nil && ctx.Err() == nil
		case <-tick.C:
			rctx, rcancel := context.WithTimeout(ctx, ttl/5)
			next, err := r.KV.Update(rctx, key, []byte(r.Holder), rev)
			rcancel()
			switch {
			case err == nil:
				rev, renewed = next, r.clock()
			case pljs.CASLost(err):
				r.logger().Warn("lease lost to another replica", "job", key)
				cancel()
				<-result
				return false
			default:
				if r.clock().Sub(renewed) > ttl*2/3 {
					r.logger().Warn("lease cannot be renewed; the job stops before it expires", "job", key, "err", err)
					cancel()
					<-result
					return false
				}
			}
		}
	}
}
