package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	pljs "github.com/partyledger/partyledger/eventstore/jetstream"
)

// Keys of the checkpoints bucket.
const (
	kvKeyName    = "signing-key"
	kvLatest     = "latest"
	kvCheckpoint = "cp."
)

// KVTable keeps the checkpoints in a JetStream key-value bucket shared by
// the replicas of a service (one key per position, "cp.<position>", and
// "latest"), so that every replica serves and verifies against the same
// checkpoints whichever one signed them. It is safe for concurrent use.
type KVTable struct {
	KV jetstream.KeyValue
}

var (
	_ Keeper = (*KVTable)(nil)
	_ Keeper = (*Table)(nil)
)

type kvStored struct {
	Position int64  `json:"position"`
	Hash     string `json:"hash"`
	Note     string `json:"note"`
}

func decodeKV(b []byte) (Stored, error) {
	var k kvStored
	if err := json.Unmarshal(b, &k); err != nil {
		return Stored{}, fmt.Errorf("checkpoint: bad stored checkpoint: %w", err)
	}
	s := Stored{Note: k.Note}
	if c, err := Parse([]byte(k.Note)); err == nil {
		s.Checkpoint = c
	}
	s.Position, s.Hash = k.Position, k.Hash
	return s, nil
}

// Add stores a checkpoint; one at a position already kept is not stored
// again. "latest" moves forward only (compare-and-set on its revision).
func (t *KVTable) Add(ctx context.Context, s Stored) error {
	b, err := json.Marshal(kvStored{Position: s.Position, Hash: s.Hash, Note: s.Note})
	if err != nil {
		return err
	}
	if _, err := t.KV.Create(ctx, fmt.Sprintf("%s%020d", kvCheckpoint, s.Position), b); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("checkpoint: store: %w", err)
	}
	for range 20 {
		e, err := t.KV.Get(ctx, kvLatest)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = t.KV.Create(ctx, kvLatest, b)
		case err != nil:
			return fmt.Errorf("checkpoint: store: %w", err)
		default:
			cur, derr := decodeKV(e.Value())
			if derr == nil && cur.Position >= s.Position {
				return nil
			}
			_, err = t.KV.Update(ctx, kvLatest, b, e.Revision())
		}
		if err == nil {
			return nil
		}
		if !pljs.CASLost(err) {
			return fmt.Errorf("checkpoint: store: %w", err)
		}
	}
	return errors.New("checkpoint: store: the latest checkpoint changed concurrently too often")
}

// Latest returns the checkpoint at the highest position.
func (t *KVTable) Latest(ctx context.Context) (Stored, bool, error) {
	e, err := t.KV.Get(ctx, kvLatest)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Stored{}, false, nil
	}
	if err != nil {
		return Stored{}, false, fmt.Errorf("checkpoint: latest: %w", err)
	}
	s, err := decodeKV(e.Value())
	return s, err == nil, err
}

// List returns every checkpoint kept, by position.
func (t *KVTable) List(ctx context.Context) ([]Stored, error) {
	entries, err := pljs.Entries(ctx, t.KV, kvCheckpoint+"*")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: list: %w", err)
	}
	out := make([]Stored, 0, len(entries))
	for _, e := range entries {
		s, err := decodeKV(e.Value())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	return out, nil
}

// LoadOrCreateKVKey returns the signer whose key is in the bucket kv, shared
// by every replica: then one key signs every checkpoint whichever replica
// signs, and verification knows one public key. The bucket therefore holds
// a private key and must be guarded like the key file. When the bucket has
// no key yet, the key file at seedPath (an earlier single-replica key) is
// adopted if it exists, else a new key named name is made; replicas racing
// to create it end up with the same one. created reports whether this call
// stored the key.
func LoadOrCreateKVKey(ctx context.Context, kv jetstream.KeyValue, name, seedPath string) (s *Signer, created bool, err error) {
	e, err := kv.Get(ctx, kvKeyName)
	if err == nil {
		s, err := NewSigner(string(e.Value()))
		return s, false, err
	}
	if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, fmt.Errorf("checkpoint: read the shared key: %w", err)
	}
	var skey string
	if seedPath != "" {
		if b, err := os.ReadFile(seedPath); err == nil {
			skey = strings.TrimSpace(string(b))
		}
	}
	if skey == "" {
		if skey, _, err = GenerateKey(name); err != nil {
			return nil, false, err
		}
	}
	if _, err := NewSigner(skey); err != nil {
		return nil, false, err
	}
	_, err = kv.Create(ctx, kvKeyName, []byte(skey))
	switch {
	case err == nil:
		created = true
	case errors.Is(err, jetstream.ErrKeyExists):
		// Another replica stored one first: use it.
		e, err := kv.Get(ctx, kvKeyName)
		if err != nil {
			return nil, false, fmt.Errorf("checkpoint: read the shared key: %w", err)
		}
		skey = string(e.Value())
	default:
		return nil, false, fmt.Errorf("checkpoint: store the shared key: %w", err)
	}
	s, err = NewSigner(skey)
	return s, created, err
}
