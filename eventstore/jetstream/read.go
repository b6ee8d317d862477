package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore"
)

// SubscribeBatch is the most events [Store.Subscribe] passes to fn at once.
const SubscribeBatch = 1000

// scanWait bounds the wait for a message that is known to exist.
const scanWait = 10 * time.Second

// Head implements [eventstore.Store.Head]: the last message of the event
// subjects, read from the stream leader.
func (s *Store) Head(ctx context.Context) (int64, string, error) {
	if !s.begin() {
		return 0, "", eventstore.ErrClosed
	}
	defer s.end()
	m, _, err := s.leaderGet(ctx, msgGetRequest{LastFor: s.prefix + ".>"})
	if errors.Is(err, errNoMsg) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("jetstream: head: %w", err)
	}
	ev, err := decode(m.Data, m.Sequence)
	if err != nil {
		return 0, "", fmt.Errorf("jetstream: head: %w", err)
	}
	return ev.Position, ev.Hash, nil
}

// staleRetries is how often a read that came back shorter than the leader
// said is repeated before the store falls back to a slower consistent read.
const staleRetries = 3

// ReadStream implements [eventstore.Store.ReadStream]. It learns the
// stream's last message from the stream leader, then reads the subject with
// batched direct gets; if the replica that answered lags behind the
// leader, it asks again, and finally reads message by message from the
// leader. So a read after an acknowledged append always sees it.
func (s *Store) ReadStream(ctx context.Context, stream string, fromVersion int64) ([]eventstore.Event, error) {
	if !validStream(stream) {
		return nil, fmt.Errorf("jetstream: read stream %q: %w: invalid stream name", stream, eventstore.ErrInvalid)
	}
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	subject := subjectFor(s.prefix, stream)
	h, err := s.head(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("jetstream: read stream %s: %w", stream, err)
	}
	s.heads.put(subject, h)
	if h.seq == 0 || fromVersion > h.version {
		return nil, nil
	}
	start, err := s.seqBefore(ctx, subject, h, fromVersion)
	if err != nil {
		return nil, fmt.Errorf("jetstream: read stream %s: %w", stream, err)
	}
	var out []eventstore.Event
	keep := func(ev eventstore.Event) bool {
		if ev.Version >= fromVersion {
			out = append(out, ev)
		}
		return ev.Position < int64(h.seq)
	}
	complete := func() bool { return len(out) > 0 && out[len(out)-1].Position >= int64(h.seq) }
	for try := 0; s.direct && try < staleRetries; try++ {
		out = out[:0]
		if err := s.directRead(ctx, subject, start, int(h.version), keep); err != nil {
			return nil, fmt.Errorf("jetstream: read stream %s: %w", stream, err)
		}
		if complete() {
			return out, nil
		}
	}
	// Consistent and slow: one message at a time from the leader.
	out = out[:0]
	for seq := start; seq <= h.seq; {
		m, _, err := s.leaderGet(ctx, msgGetRequest{Seq: seq, NextFor: subject})
		if err != nil {
			return nil, fmt.Errorf("jetstream: read stream %s: %w", stream, err)
		}
		ev, err := decode(m.Data, m.Sequence)
		if err != nil {
			return nil, fmt.Errorf("jetstream: read stream %s: %w", stream, err)
		}
		keep(ev)
		seq = m.Sequence + 1
	}
	return out, nil
}

// seqBefore returns a sequence from which reading subject yields every
// event with version fromVersion or later, and few before it: 1 for the
// whole stream, else found by galloping back from the stream's head h (a
// stream's versions rise with the sequence, one message per version).
func (s *Store) seqBefore(ctx context.Context, subject string, h head, fromVersion int64) (uint64, error) {
	if fromVersion <= 1 {
		return 1, nil
	}
	if fromVersion >= h.version {
		return h.seq, nil
	}
	for d := uint64(4); d < h.seq; d *= 4 {
		seq := h.seq - d + 1
		m, _, err := s.leaderGet(ctx, msgGetRequest{Seq: seq, NextFor: subject})
		if err != nil {
			return 0, err
		}
		ev, err := decode(m.Data, m.Sequence)
		if err != nil {
			return 0, err
		}
		if ev.Version <= fromVersion {
			return seq, nil
		}
	}
	return 1, nil
}

// ReadAll implements [eventstore.Store.ReadAll]. limit must be at least 1.
// It learns the stream's last sequence from the leader and reads with
// batched direct gets, falling back to an ordered consumer when the
// replicas that answer lag behind.
func (s *Store) ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error) {
	if limit < 1 {
		return nil, fmt.Errorf("jetstream: read all: %w: limit %d", eventstore.ErrInvalid, limit)
	}
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	ictx, cancel := s.requestContext(ctx)
	info, err := s.stream.Info(ictx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("jetstream: read all: %w", unavailable(err))
	}
	from, last := uint64(max(after, 0))+1, info.State.LastSeq
	if last < from {
		return nil, nil
	}
	out := make([]eventstore.Event, 0, min(uint64(limit), last-from+1))
	keep := func(ev eventstore.Event) bool {
		out = append(out, ev)
		return len(out) < limit && ev.Position < int64(last)
	}
	complete := func() bool { return len(out) == limit || (len(out) > 0 && out[len(out)-1].Position >= int64(last)) }
	for try := 0; s.direct && try < staleRetries; try++ {
		out = out[:0]
		if err := s.directRead(ctx, s.prefix+".>", from, limit, keep); err != nil {
			return nil, fmt.Errorf("jetstream: read all after %d: %w", after, err)
		}
		if complete() {
			return out, nil
		}
	}
	out = out[:0]
	if err := s.scan(ctx, s.prefix+".>", from, last, limit, keep); err != nil {
		return nil, fmt.Errorf("jetstream: read all after %d: %w", after, err)
	}
	return out, nil
}

// scan reads the messages of filter from sequence start in order with an
// ordered consumer and passes each event to fn, until fn returns false,
// the message at sequence stop (known to exist) has been read, or nothing
// is left. prefetch is how many messages to ask for at once.
func (s *Store) scan(ctx context.Context, filter string, start, stop uint64, prefetch int, fn func(eventstore.Event) bool) error {
	cons, err := s.js.OrderedConsumer(ctx, s.name, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{filter},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		InactiveThreshold: 5 * time.Second,
	})
	if err != nil {
		return unavailable(err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(min(max(prefetch, 1), SubscribeBatch)))
	if err != nil {
		return unavailable(err)
	}
	defer it.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		nctx, cancel := context.WithTimeout(ctx, scanWait)
		msg, err := it.Next(jetstream.NextContext(nctx))
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return unavailable(err)
		}
		md, err := msg.Metadata()
		if err != nil {
			return err
		}
		ev, err := decode(msg.Data(), md.Sequence.Stream)
		if err != nil {
			return err
		}
		if !fn(ev) || md.Sequence.Stream >= stop || md.NumPending == 0 {
			return nil
		}
	}
}

// Subscribe implements [eventstore.Store.Subscribe] with an ordered
// consumer that starts at sequence after+1 and follows the stream live.
// Events the consumer has already received are passed to fn together, up
// to [SubscribeBatch] at a time. An ordered consumer recovers by itself
// from a leader change or a reconnect, without gaps or duplicates. Returns
// ctx.Err() when ctx is done, fn's error, [eventstore.ErrClosed] when the
// store is closed, or the consumer's error.
func (s *Store) Subscribe(ctx context.Context, after int64, fn func(ctx context.Context, events []eventstore.Event) error) error {
	if !s.begin() {
		return eventstore.ErrClosed
	}
	cons, err := s.js.OrderedConsumer(ctx, s.name, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{s.prefix + ".>"},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       uint64(max(after, 0)) + 1,
		InactiveThreshold: 30 * time.Second,
	})
	s.end()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("jetstream: subscribe after %d: %w", after, unavailable(err))
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(SubscribeBatch))
	if err != nil {
		return fmt.Errorf("jetstream: subscribe after %d: %w", after, unavailable(err))
	}
	// Next blocks; stopping the iterator is how cancellation reaches it.
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-s.quit:
		case <-stopped:
		}
		it.Stop()
	}()
	for {
		var batch []eventstore.Event // fn may keep it
		for {
			msg, err := it.Next()
			if err != nil {
				switch {
				case ctx.Err() != nil:
					return ctx.Err()
				case s.isClosed():
					return eventstore.ErrClosed
				}
				return fmt.Errorf("jetstream: subscribe: %w", unavailable(err))
			}
			md, err := msg.Metadata()
			if err != nil {
				return fmt.Errorf("jetstream: subscribe: %w", err)
			}
			ev, err := decode(msg.Data(), md.Sequence.Stream)
			if err != nil {
				return fmt.Errorf("jetstream: subscribe: %w", err)
			}
			batch = append(batch, ev)
			// More is waiting in the stream: take it into this batch.
			if md.NumPending == 0 || len(batch) == SubscribeBatch {
				break
			}
		}
		if err := fn(ctx, batch); err != nil {
			return err
		}
	}
}

func (s *Store) isClosed() bool {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	return s.closed
}
