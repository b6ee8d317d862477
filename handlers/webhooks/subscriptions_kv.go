package webhooks

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	pljs "github.com/partyledger/partyledger/eventstore/jetstream"

	"github.com/partyledger/partyledger/domain"
)

// KVKeepDeliveries is how many delivery attempts, and how many history
// records, the shared buckets keep per subscription: the log bucket's
// history depth, JetStream's maximum for a key.
const KVKeepDeliveries = jetstream.KeyValueMaxHistory

// Keys of the shared buckets: the subscriptions bucket holds one key per
// subscription; the log bucket one key for its attempts and one for its
// history, each value of a key's history one entry.
const (
	kvSubPrefix      = "sub."
	kvDeliveryPrefix = "deliveries."
	kvHistoryPrefix  = "history."
)

// kvModifyTries bounds the compare-and-set retries of one modification.
const kvModifyTries = 50

// kvStorage keeps subscriptions in two JetStream key-value buckets that
// every replica of the service shares: subs holds each subscription's whole
// state (secrets included: they must sign deliveries on whichever replica
// delivers, so the bucket is as sensitive as the secrets), its delivery
// position and generation; log holds the newest [KVKeepDeliveries]
// attempts and history records of each. Changes of a subscription are
// compare-and-set on its key's revision, so two replicas never undo each
// other's writes and a position never moves backwards.
type kvStorage struct {
	subs, log jetstream.KeyValue
}

var (
	_ storage = (*kvStorage)(nil)
	_ watcher = (*kvStorage)(nil)
)

// NewKVSubscriptions keeps subscriptions in the shared buckets subs and
// log (log created with History [KVKeepDeliveries]; see kvStorage), for a
// service whose replicas share a NATS JetStream event log. guard and log
// are as for [NewSubscriptions].
func NewKVSubscriptions(subs, logKV jetstream.KeyValue, guard *Guard, log Head) *Subscriptions {
	return newSubscriptions(&kvStorage{subs: subs, log: logKV}, guard, log)
}

// kvSub is a subscription as stored in the bucket.
type kvSub struct {
	Subscription
	Generation    int64     `json:"generation"`
	Secret        string    `json:"secret"`
	Previous      string    `json:"previous_secret,omitempty"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`
}

func encodeSub(sub Subscription) ([]byte, error) {
	return json.Marshal(kvSub{Subscription: sub, Generation: sub.Generation, Secret: sub.secret,
		Previous: sub.previous, PreviousUntil: sub.previousUntil})
}

func decodeSub(b []byte) (Subscription, error) {
	var k kvSub
	if err := json.Unmarshal(b, &k); err != nil {
		return Subscription{}, fmt.Errorf("bad stored subscription: %w", err)
	}
	sub := k.Subscription
	sub.Filter = sub.Filter.Normalize()
	sub.Generation, sub.secret, sub.previous, sub.previousUntil = k.Generation, k.Secret, k.Previous, k.PreviousUntil
	return sub, nil
}

// validID keeps ids to what a key may hold (a UUID), so that no input can
// address another key or a wildcard.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func notFound(id string) error {
	return domain.Errorf(domain.ENOTFOUND, "no subscription with id %s", id)
}

func (st *kvStorage) count(ctx context.Context) (int, error) {
	all, err := st.list(ctx)
	return len(all), err
}

func (st *kvStorage) insert(ctx context.Context, sub Subscription, recs ...Record) error {
	b, err := encodeSub(sub)
	if err != nil {
		return err
	}
	if _, err := st.subs.Create(ctx, kvSubPrefix+sub.ID, b); err != nil {
		return err
	}
	for _, rec := range recs {
		if err := st.appendLog(ctx, kvHistoryPrefix+sub.ID, rec); err != nil {
			return err
		}
	}
	return nil
}

func (st *kvStorage) entry(ctx context.Context, id string) (Subscription, uint64, error) {
	if !validID(id) {
		return Subscription{}, 0, notFound(id)
	}
	e, err := st.subs.Get(ctx, kvSubPrefix+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Subscription{}, 0, notFound(id)
	}
	if err != nil {
		return Subscription{}, 0, err
	}
	sub, err := decodeSub(e.Value())
	return sub, e.Revision(), err
}

func (st *kvStorage) get(ctx context.Context, id string) (Subscription, error) {
	sub, _, err := st.entry(ctx, id)
	return sub, err
}

// list reads every subscription through one watcher (its initial values),
// rather than a round trip per key.
func (st *kvStorage) list(ctx context.Context) ([]Subscription, error) {
	entries, err := pljs.Entries(ctx, st.subs, kvSubPrefix+"*")
	if err != nil {
		return nil, err
	}
	out := make([]Subscription, 0, len(entries))
	for _, e := range entries {
		sub, err := decodeSub(e.Value())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Key(), err)
		}
		out = append(out, sub)
	}
	slices.SortFunc(out, func(a, b Subscription) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}

func (st *kvStorage) remove(ctx context.Context, id string, rec Record) error {
	_, rev, err := st.entry(ctx, id)
	if err != nil {
		return err
	}
	err = st.subs.Purge(ctx, kvSubPrefix+id, jetstream.LastRevision(rev))
	if pljs.CASLost(err) {
		// Changed meanwhile (a delivery moved it): delete what is there.
		err = st.subs.Purge(ctx, kvSubPrefix+id)
	}
	if err != nil {
		return err
	}
	if err := st.log.Purge(ctx, kvDeliveryPrefix+id); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return err
	}
	return st.appendLog(ctx, kvHistoryPrefix+id, rec)
}

// modify is compare-and-set on the key's revision: read, apply fn, write
// only if nobody wrote in between, else read again and apply fn again.
// The attempt and the history record are written once the state is.
func (st *kvStorage) modify(ctx context.Context, id string, fn func(*Subscription) error, rec *Record, d *Delivery) error {
	for range kvModifyTries {
		sub, rev, err := st.entry(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(&sub); errors.Is(err, errUnchanged) {
			return nil
		} else if err != nil {
			return err
		}
		b, err := encodeSub(sub)
		if err != nil {
			return err
		}
		_, err = st.subs.Update(ctx, kvSubPrefix+id, b, rev)
		if pljs.CASLost(err) {
			continue
		}
		if err != nil {
			return err
		}
		if d != nil {
			if err := st.appendLog(ctx, kvDeliveryPrefix+id, *d); err != nil {
				return err
			}
		}
		if rec != nil {
			return st.appendLog(ctx, kvHistoryPrefix+id, *rec)
		}
		return nil
	}
	return fmt.Errorf("subscription %s: changed concurrently %d times in a row", id, kvModifyTries)
}

func (st *kvStorage) appendLog(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = st.log.Put(ctx, key, b)
	return err
}

// logEntries returns the values of a log key, oldest first (none when the
// key has none or was purged).
func (st *kvStorage) logEntries(ctx context.Context, key string) ([]jetstream.KeyValueEntry, error) {
	es, err := st.log.History(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := es[:0]
	for _, e := range es {
		if e.Operation() == jetstream.KeyValuePut {
			out = append(out, e)
		}
	}
	return out, nil
}

func (st *kvStorage) deliveries(ctx context.Context, id string, limit int) ([]Delivery, error) {
	out := []Delivery{}
	if !validID(id) {
		return out, nil
	}
	es, err := st.logEntries(ctx, kvDeliveryPrefix+id)
	if err != nil {
		return nil, err
	}
	for i := len(es) - 1; i >= 0 && len(out) < limit; i-- {
		var d Delivery
		if err := json.Unmarshal(es[i].Value(), &d); err != nil {
			return nil, fmt.Errorf("bad stored delivery of %s: %w", id, err)
		}
		d.ID = int64(es[i].Revision())
		out = append(out, d)
	}
	return out, nil
}

func (st *kvStorage) history(ctx context.Context, id string) ([]Record, error) {
	out := []Record{}
	if !validID(id) {
		return out, nil
	}
	es, err := st.logEntries(ctx, kvHistoryPrefix+id)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		var r Record
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return nil, fmt.Errorf("bad stored history of %s: %w", id, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// watch follows the subscriptions bucket and calls notify when a
// subscription appears or goes, or its status or generation changes: what
// makes a dispatcher start, stop or restart a worker. Position moves (every
// delivery) do not notify. A broken watch is started again after a pause.
func (st *kvStorage) watch(ctx context.Context, notify func()) {
	type state struct {
		status string
		gen    int64
	}
	for ctx.Err() == nil {
		known := map[string]state{}
		w, err := st.subs.Watch(ctx, kvSubPrefix+"*")
		if err == nil {
			initial := true
		loop:
			for {
				select {
				case <-ctx.Done():
					break loop
				case e, ok := <-w.Updates():
					if !ok {
						break loop
					}
					if e == nil {
						if !initial {
							continue
						}
						// Changes may have been missed while the watch was
						// down: notify once, the dispatcher re-reads.
						initial = false
						notify()
						continue
					}
					key := e.Key()
					if e.Operation() != jetstream.KeyValuePut {
						if _, had := known[key]; had {
							delete(known, key)
							if !initial {
								notify()
							}
						}
						continue
					}
					sub, err := decodeSub(e.Value())
					if err != nil {
						continue
					}
					s := state{status: sub.Status, gen: sub.Generation}
					if old, had := known[key]; !had || old != s {
						known[key] = s
						if !initial {
							notify()
						}
					}
				}
			}
			_ = w.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
