package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	pljs "github.com/partyledger/partyledger/eventstore/jetstream"
)

// KVCheckpoints keeps the forwarders' checkpoints in a JetStream key-value
// bucket shared by the replicas of a service (one key per forwarder,
// "checkpoint.<name>"), so that the replica that takes the forwarding over
// (see handlers/lease) resumes at the last position saved by any of them.
// A save is compare-and-set on the key's revision and never moves a
// checkpoint backwards. It is safe for concurrent use.
type KVCheckpoints struct {
	KV jetstream.KeyValue
}

var (
	_ Positions = (*KVCheckpoints)(nil)
	_ Positions = (*Checkpoints)(nil)
)

func kvKey(name string) string { return "checkpoint." + name }

func (c *KVCheckpoints) entry(ctx context.Context, name string) (int64, uint64, error) {
	e, err := c.KV.Get(ctx, kvKey(name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("bus: load checkpoint %s: %w", name, err)
	}
	pos, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("bus: bad checkpoint %s: %w", name, err)
	}
	return pos, e.Revision(), nil
}

// Load returns the position saved under name, 0 when there is none.
func (c *KVCheckpoints) Load(ctx context.Context, name string) (int64, error) {
	pos, _, err := c.entry(ctx, name)
	return pos, err
}

// Save stores position under name unless a later one is stored.
func (c *KVCheckpoints) Save(ctx context.Context, name string, position int64) error {
	for range 20 {
		cur, rev, err := c.entry(ctx, name)
		if err != nil {
			return err
		}
		if cur >= position {
			return nil
		}
		val := []byte(strconv.FormatInt(position, 10))
		if rev == 0 {
			_, err = c.KV.Create(ctx, kvKey(name), val)
		} else {
			_, err = c.KV.Update(ctx, kvKey(name), val, rev)
		}
		if err == nil {
			return nil
		}
		if !pljs.CASLost(err) {
			return fmt.Errorf("bus: save checkpoint %s at %d: %w", name, position, err)
		}
	}
	return fmt.Errorf("bus: save checkpoint %s at %d: changed concurrently too often", name, position)
}
