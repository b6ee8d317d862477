package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ReadYourWrites wraps a bucket of this store so that a key written and
// acknowledged through any replica is found by Get on every replica at
// once. KV Get is a direct get, which any server holding the bucket may
// answer, a lagging follower of an R3 cluster included; so when it finds
// nothing, the wrapper asks the bucket's stream leader, which answers with
// everything acknowledged. Hits cost nothing more; only misses (an unknown
// token, a signed-out browser) take the second, consistent read.
func (s *Store) ReadYourWrites(kv jetstream.KeyValue) jetstream.KeyValue {
	return &leaderKV{KeyValue: kv, s: s}
}

type leaderKV struct {
	jetstream.KeyValue
	s *Store
}

// Get implements jetstream.KeyValue.
func (l *leaderKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, err := l.KeyValue.Get(ctx, key)
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return e, err
	}
	bucket := l.Bucket()
	m, hdr, lerr := l.s.leaderGetFrom(ctx, "KV_"+bucket, msgGetRequest{LastFor: "$KV." + bucket + "." + key})
	if errors.Is(lerr, errNoMsg) {
		return nil, err
	}
	if lerr != nil {
		return nil, fmt.Errorf("jetstream: bucket %s: %w", bucket, lerr)
	}
	switch hdr.Get("KV-Operation") {
	case "DEL", "PURGE":
		return nil, jetstream.ErrKeyNotFound
	}
	return leaderEntry{bucket: bucket, key: key, value: m.Data, rev: m.Sequence}, nil
}

// leaderEntry is a value read from the stream leader.
type leaderEntry struct {
	bucket, key string
	value       []byte
	rev         uint64
}

func (e leaderEntry) Bucket() string                  { return e.bucket }
func (e leaderEntry) Key() string                     { return e.key }
func (e leaderEntry) Value() []byte                   { return e.value }
func (e leaderEntry) Revision() uint64                { return e.rev }
func (e leaderEntry) Created() time.Time              { return time.Time{} }
func (e leaderEntry) Delta() uint64                   { return 0 }
func (e leaderEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }
