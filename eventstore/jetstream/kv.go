package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore"
)

// BucketOptions configure a key-value bucket opened with [Store.Bucket].
type BucketOptions struct {
	// History is how many values a key keeps (1–64). Zero means 1.
	History uint8
	// TTL, if set, expires every key that long after its last write.
	TTL time.Duration
	// KeyTTLs allows per-key expiries (jetstream.KeyTTL on Create), for
	// leases. It sets the bucket's limit-marker TTL to this duration, so
	// that watchers also see expiries.
	KeyTTLs time.Duration
	// Description is shown by `nats kv ls`.
	Description string
}

// BucketName is the JetStream key-value bucket a store keeps shared state
// named name in: the event stream's name and the name, joined by "_".
func (s *Store) BucketName(name string) string { return s.name + "_" + name }

// Bucket opens or creates the key-value bucket of the shared state named
// name (tokens, sessions, subscriptions, leases…), next to the event log and
// under the same durability profile: file storage and the log's replica
// count unless the profile is dev. An existing bucket is never changed; if
// it does not meet the profile, Bucket fails with an error matching
// [ErrProfile], as [Open] does for the stream.
//
// Everything that every replica of a service must read alike lives in such
// buckets (docs/nats.md); the event log itself stays the only record of what
// happened.
func (s *Store) Bucket(ctx context.Context, name string, opts BucketOptions) (jetstream.KeyValue, error) {
	if !s.begin() {
		return nil, fmt.Errorf("jetstream: bucket %s: %w", name, eventstore.ErrClosed)
	}
	defer s.end()
	bucket := s.BucketName(name)
	kv, err := s.js.KeyValue(ctx, bucket)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		cfg := jetstream.KeyValueConfig{
			Bucket: bucket, Description: opts.Description, History: opts.History, TTL: opts.TTL,
			LimitMarkerTTL: opts.KeyTTLs, Storage: jetstream.FileStorage, Replicas: s.opts.Replicas,
		}
		kv, err = s.js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Another replica created it first.
			kv, err = s.js.KeyValue(ctx, bucket)
		}
		if err != nil {
			return nil, fmt.Errorf("jetstream: create bucket %s: %w", bucket, unavailable(err))
		}
		s.logger.Info("created a shared-state bucket", "bucket", bucket, "replicas", cfg.Replicas)
	case err != nil:
		return nil, fmt.Errorf("jetstream: bucket %s: %w", bucket, unavailable(err))
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("jetstream: bucket %s: %w", bucket, unavailable(err))
	}
	if info, ok := st.(*jetstream.KeyValueBucketStatus); ok {
		if err := s.checkBucket(bucket, info.StreamInfo().Config, opts); err != nil {
			return nil, err
		}
	}
	return kv, nil
}

// checkBucket reports how a bucket's backing stream falls short of the
// store's durability profile, or of what the caller needs (per-key TTLs).
func (s *Store) checkBucket(bucket string, cfg jetstream.StreamConfig, opts BucketOptions) error {
	var problems []string
	if s.opts.Profile != ProfileDev && cfg.Storage != jetstream.FileStorage {
		problems = append(problems, "storage is "+strings.ToLower(cfg.Storage.String())+", want file")
	}
	if s.opts.Profile == ProfileHA && cfg.Replicas < 3 {
		problems = append(problems, fmt.Sprintf("replicas is %d, want at least 3", cfg.Replicas))
	}
	if s.opts.Profile != ProfileDev && cfg.Replicas < s.opts.Replicas {
		problems = append(problems, fmt.Sprintf("replicas is %d, fewer than the event log's %d", cfg.Replicas, s.opts.Replicas))
	}
	if opts.KeyTTLs > 0 && !cfg.AllowMsgTTL {
		problems = append(problems, "per-key TTLs are not allowed (the bucket was created without a limit-marker TTL)")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: bucket %s under the %s profile: %s (delete it with `nats kv rm %s` to have it recreated, after copying what it holds)",
		ErrProfile, bucket, s.opts.Profile, strings.Join(problems, "; "), bucket)
}

// CASLost reports whether err means that a conditional write to a bucket
// key lost to another writer: Create found the key, or Update/Delete
// expected a revision the key no longer has (or the key is gone). Callers
// read the key again and decide anew; every other error is a failure.
func CASLost(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// Entries returns the current entries of the keys that match filter (a
// subject filter: "sub.*"), deleted keys left out, read through one watch
// that ends at the initial values: one round trip for them all rather than
// a get per key.
func Entries(ctx context.Context, kv jetstream.KeyValue, filter string) ([]jetstream.KeyValueEntry, error) {
	w, err := kv.Watch(ctx, filter, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("jetstream: bucket %s: watch %s: %w", kv.Bucket(), filter, unavailable(err))
	}
	defer w.Stop()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("jetstream: bucket %s: the watcher of %s stopped", kv.Bucket(), filter)
			}
			if e == nil {
				return out, nil
			}
			out = append(out, e)
		}
	}
}
