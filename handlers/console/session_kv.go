package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KVSessions keeps console sessions in a JetStream key-value bucket that
// every replica shares (the "sessions" bucket beside the event log), so a
// browser signed in through one replica stays signed in on all. A session
// is the JSON of [Session] under "s." and the SHA-256 of its identifier
// (never the identifier). The bucket's TTL should be [MaxAge]: a session
// is rewritten at least every minute while used, and an expired one is
// refused on read whatever the bucket still holds. It is safe for
// concurrent use.
type KVSessions struct {
	KV jetstream.KeyValue
	// Now is the clock; defaults to time.Now.
	Now func() time.Time
}

var _ Sessions = KVSessions{}

func (k KVSessions) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func kvSessionKey(key string) string { return "s." + key }

// Put implements [Sessions].
func (k KVSessions) Put(ctx context.Context, key string, s Session) error {
	val, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("console: encode session: %w", err)
	}
	if _, err := k.KV.Put(ctx, kvSessionKey(key), val); err != nil {
		return fmt.Errorf("console: store session: %w", err)
	}
	return nil
}

// Get implements [Sessions].
func (k KVSessions) Get(ctx context.Context, key string) (Session, error) {
	e, err := k.KV.Get(ctx, kvSessionKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("console: read session: %w", err)
	}
	var s Session
	if err := json.Unmarshal(e.Value(), &s); err != nil {
		return Session{}, fmt.Errorf("console: decode session: %w", err)
	}
	if expired(s, k.now()) {
		return Session{}, ErrNoSession
	}
	return s, nil
}

// Delete implements [Sessions].
func (k KVSessions) Delete(ctx context.Context, key string) error {
	if err := k.KV.Purge(ctx, kvSessionKey(key)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("console: end session: %w", err)
	}
	return nil
}

// List implements [Sessions].
func (k KVSessions) List(ctx context.Context) (map[string]Session, error) {
	lister, err := k.KV.ListKeysFiltered(ctx, "s.>")
	if err != nil {
		return nil, fmt.Errorf("console: list sessions: %w", err)
	}
	defer lister.Stop()
	out := map[string]Session{}
	for key := range lister.Keys() {
		s, err := k.Get(ctx, key[len("s."):])
		if errors.Is(err, ErrNoSession) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[key[len("s."):]] = s
	}
	return out, nil
}
