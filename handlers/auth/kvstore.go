package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	pljs "github.com/partyledger/partyledger/eventstore/jetstream"

	"github.com/partyledger/partyledger/domain"
)

// KVTokenStore keeps tokens in a JetStream key-value bucket that every
// replica of a service shares (the "tokens" bucket beside the event log):
//
//   - name.<name> holds the token as JSON ([TokenRecord]: name, role,
//     the SHA-256 of the secret, times), under the lowercased name with
//     "." and "@" escaped (=2e, =40). Creating it with KV Create
//     (create-if-absent) is what makes a name unique across replicas.
//   - hash.<sha256 hex> holds {"name": …}: which token a secret opens.
//
// Secrets are never stored, only their hashes. The name key is the one
// source of truth: a revocation rewrites it (compare-and-set on its
// revision), and an authentication reads the hash key, then the name key.
// It is safe for concurrent use.
type KVTokenStore struct {
	kv jetstream.KeyValue
}

// NewKVTokenStore keeps tokens in kv.
func NewKVTokenStore(kv jetstream.KeyValue) *KVTokenStore { return &KVTokenStore{kv: kv} }

var _ TokenStore = (*KVTokenStore)(nil)

// kvNameKey is the key of a token's record: names are unique in any case,
// and a KV key may not hold "@" or an empty token between dots.
func kvNameKey(name string) string {
	return "name." + strings.NewReplacer(".", "=2e", "@", "=40").Replace(strings.ToLower(name))
}

func kvHashKey(hash string) string { return "hash." + hash }

type kvHashEntry struct {
	Name string `json:"name"`
}

// Create implements [TokenStore]: KV Create on the name key, then on the
// hash key. A failure between the two takes the name key back.
func (s *KVTokenStore) Create(ctx context.Context, rec TokenRecord) error {
	val, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("auth: encode token %s: %w", rec.Name, err)
	}
	if _, err := s.kv.Create(ctx, kvNameKey(rec.Name), val); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return errNameTaken
		}
		return fmt.Errorf("auth: create token %s: %w", rec.Name, err)
	}
	hv, _ := json.Marshal(kvHashEntry{Name: rec.Name})
	if _, err := s.kv.Create(ctx, kvHashKey(rec.Hash), hv); err != nil {
		_ = s.kv.Purge(context.WithoutCancel(ctx), kvNameKey(rec.Name))
		return fmt.Errorf("auth: create token %s: %w", rec.Name, err)
	}
	return nil
}

// ByHash implements [TokenStore].
func (s *KVTokenStore) ByHash(ctx context.Context, hash string) (TokenRecord, error) {
	e, err := s.kv.Get(ctx, kvHashKey(hash))
	if err != nil {
		return TokenRecord{}, kvNotFound(err)
	}
	var he kvHashEntry
	if err := json.Unmarshal(e.Value(), &he); err != nil {
		return TokenRecord{}, fmt.Errorf("auth: decode %s: %w", e.Key(), err)
	}
	rec, _, err := s.get(ctx, he.Name)
	if err != nil {
		return TokenRecord{}, err
	}
	if rec.Hash != hash {
		return TokenRecord{}, errNoToken
	}
	return rec, nil
}

// ByName implements [TokenStore].
func (s *KVTokenStore) ByName(ctx context.Context, name string) (TokenRecord, error) {
	rec, _, err := s.get(ctx, name)
	return rec, err
}

// get reads the record of the token named exactly name, with its revision.
func (s *KVTokenStore) get(ctx context.Context, name string) (TokenRecord, uint64, error) {
	e, err := s.kv.Get(ctx, kvNameKey(name))
	if err != nil {
		return TokenRecord{}, 0, kvNotFound(err)
	}
	var rec TokenRecord
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return TokenRecord{}, 0, fmt.Errorf("auth: decode %s: %w", e.Key(), err)
	}
	if rec.Name != name {
		return TokenRecord{}, 0, errNoToken
	}
	return rec, e.Revision(), nil
}

func kvNotFound(err error) error {
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return errNoToken
	}
	return fmt.Errorf("auth: look up token: %w", err)
}

// List implements [TokenStore].
func (s *KVTokenStore) List(ctx context.Context) ([]TokenRecord, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "name.>")
	if err != nil {
		return nil, fmt.Errorf("auth: list tokens: %w", err)
	}
	defer lister.Stop()
	out := []TokenRecord{}
	for key := range lister.Keys() {
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("auth: list tokens: %w", err)
		}
		var rec TokenRecord
		if err := json.Unmarshal(e.Value(), &rec); err != nil {
			return nil, fmt.Errorf("auth: decode %s: %w", key, err)
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Revoke implements [TokenStore]: a compare-and-set of the name key, so
// that a concurrent revocation or migration is never overwritten.
func (s *KVTokenStore) Revoke(ctx context.Context, name string, at time.Time) error {
	for {
		rec, rev, err := s.get(ctx, name)
		if errors.Is(err, errNoToken) || (err == nil && rec.RevokedAt != nil) {
			return domain.Errorf(domain.ENOTFOUND, "no active token named %s", name)
		}
		if err != nil {
			return err
		}
		at := at.UTC()
		rec.RevokedAt = &at
		val, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("auth: encode token %s: %w", name, err)
		}
		_, err = s.kv.Update(ctx, kvNameKey(name), val, rev)
		if err == nil {
			return nil
		}
		if !pljs.CASLost(err) {
			return fmt.Errorf("auth: revoke %s: %w", name, err)
		}
		// Changed meanwhile: read it again.
	}
}

// Remove implements [TokenStore].
func (s *KVTokenStore) Remove(ctx context.Context, name string) error {
	rec, _, err := s.get(ctx, name)
	if err != nil {
		return err
	}
	return errors.Join(s.kv.Purge(ctx, kvHashKey(rec.Hash)), s.kv.Purge(ctx, kvNameKey(name)))
}

// Migrate copies the tokens of from (a replica's local table) into s,
// create-if-absent, and returns how many it created. A token already in s
// with the same hash is skipped (an earlier start migrated it; its state
// in s, such as a revocation, stands). A name that s holds with another
// hash is refused, with what to do about it.
func (s *KVTokenStore) Migrate(ctx context.Context, from *Tokens) (int, error) {
	recs, err := from.store.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, rec := range recs {
		err := s.Create(ctx, rec)
		if err == nil {
			n++
			continue
		}
		if !errors.Is(err, errNameTaken) {
			return n, err
		}
		e, gerr := s.kv.Get(ctx, kvNameKey(rec.Name))
		if gerr != nil {
			return n, fmt.Errorf("auth: migrate token %s: %w", rec.Name, gerr)
		}
		var shared TokenRecord
		if err := json.Unmarshal(e.Value(), &shared); err != nil {
			return n, fmt.Errorf("auth: decode %s: %w", e.Key(), err)
		}
		if shared.Hash == rec.Hash {
			continue
		}
		errs = append(errs, fmt.Errorf("the local token %q is not the shared token %q (another secret)", rec.Name, shared.Name))
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("%w: %w", ErrMigrationConflict, errors.Join(errs...))
	}
	return n, nil
}

// ErrMigrationConflict is returned by [KVTokenStore.Migrate] when a local
// token's name is taken in the shared store by a token with another secret.
var ErrMigrationConflict = errors.New("auth: local tokens conflict with shared ones")
