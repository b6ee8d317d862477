package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/partyledger/partyledger/eventstore"
)

// AppendStreams implements [eventstore.Store.AppendStreams] with one
// atomic batch (ADR-50) across the parts' subjects: the first message of
// each part carries the expected-last-subject-sequence header of its own
// subject, so the server stores the whole batch only if every stream is
// still where this store read it, and otherwise refuses all of it.
//
// A refusal ("wrong last sequence") makes it read the heads again: a part
// whose version moved away from its expected one is a
// [*eventstore.ConflictError]; otherwise (only [eventstore.AnyVersion]
// parts moved) it retries. A publish whose answer is lost is settled as in
// [Store.Append], by looking whether the first part's first message is
// ours: the batch is atomic, so that message stands for the whole batch.
// At most [MaxAppend] events in all.
func (s *Store) AppendStreams(ctx context.Context, parts []eventstore.StreamAppend) ([][]eventstore.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := eventstore.CheckParts(parts); err != nil {
		return nil, fmt.Errorf("jetstream: append: %w", err)
	}
	if len(parts) == 1 {
		evs, err := s.Append(ctx, parts[0].Stream, parts[0].ExpectedVersion, parts[0].Events)
		if err != nil {
			return nil, err
		}
		return [][]eventstore.Event{evs}, nil
	}
	total := 0
	prepared := make([][]eventstore.Event, len(parts))
	for i, p := range parts {
		evs, err := prepare(p.Stream, p.ExpectedVersion, p.Events)
		if err != nil {
			return nil, fmt.Errorf("jetstream: append %s: %w", p.Stream, err)
		}
		prepared[i] = evs
		total += len(evs)
	}
	if total > MaxAppend {
		return nil, fmt.Errorf("jetstream: append: %w: %d events in one append, at most %d", eventstore.ErrInvalid, total, MaxAppend)
	}
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	out, err := s.appendStreams(ctx, parts, prepared)
	if err != nil {
		return nil, fmt.Errorf("jetstream: append %d streams: %w", len(parts), err)
	}
	return out, nil
}

func (s *Store) appendStreams(ctx context.Context, parts []eventstore.StreamAppend, prepared [][]eventstore.Event) ([][]eventstore.Event, error) {
	subjects := make([]string, len(parts))
	for i, p := range parts {
		subjects[i] = subjectFor(s.prefix, p.Stream)
	}
	bo := s.backoff()
	pause := func() error { return bo.pause(ctx) }
	type attempt struct {
		head head        // the first part's head it was built on
		msgs []*nats.Msg // its messages
		all  []eventstore.Event
	}
	var (
		lastErr error
		unknown []attempt // attempts whose outcome is unknown
	)
	// landed reports whether an earlier attempt of unknown outcome was
	// stored, and returns its events.
	landed := func(c context.Context) ([][]eventstore.Event, bool, error) {
		for _, u := range unknown {
			first, ok, err := s.ours(c, subjects[0], u.head, u.msgs)
			if err != nil {
				return nil, false, err
			}
			if ok {
				return s.split(subjects, prepared, placed(u.all, first+uint64(len(u.all))-1)), true, nil
			}
		}
		return nil, false, nil
	}
	for {
		heads := make([]head, len(parts))
		var err error
		for i := range parts {
			if heads[i], err = s.head(ctx, subjects[i]); err != nil {
				break
			}
		}
		if err == nil {
			var out [][]eventstore.Event
			var ok bool
			if out, ok, err = landed(ctx); err == nil && ok {
				return out, nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !errors.Is(err, eventstore.ErrUnavailable) {
				return nil, err
			}
			lastErr = err
			if err := pause(); err != nil {
				return nil, errors.Join(err, lastErr)
			}
			continue
		}
		for i, p := range parts {
			if p.ExpectedVersion != eventstore.AnyVersion && p.ExpectedVersion != heads[i].version {
				return nil, &eventstore.ConflictError{Stream: p.Stream, Expected: p.ExpectedVersion, Actual: heads[i].version}
			}
		}
		var msgs []*nats.Msg
		var all []eventstore.Event
		for i := range parts {
			m, built, err := build(subjects[i], prepared[i], heads[i])
			if err != nil {
				return nil, err
			}
			m[0].Header.Set(nats.ExpectedLastSubjSeqHdr, strconv.FormatUint(heads[i].seq, 10))
			msgs = append(msgs, m...)
			all = append(all, built...)
		}
		cur := attempt{head: heads[0], msgs: msgs, all: all}
		resp, perr := s.send(ctx, msgs)
		outcome, wait, err := classify(ctx, resp, perr)
		switch outcome {
		case answerStored:
			return s.split(subjects, prepared, placed(all, resp.Sequence)), nil
		case answerDuplicate, answerRaced:
			// A duplicate, or a failed expectation: ours from an earlier
			// attempt?
			unknown = append(unknown, cur)
			if out, ok, lerr := landed(ctx); lerr != nil {
				return nil, lerr
			} else if ok {
				return out, nil
			}
			if outcome == answerDuplicate {
				return nil, fmt.Errorf("%w: an event id of the batch is already stored", eventstore.ErrDuplicateID)
			}
			if err != nil {
				return nil, err
			}
			if wait {
				if err := pause(); err != nil {
					return nil, err
				}
			}
			continue // read the heads again: conflict or retry
		case answerFailed:
			return nil, err
		case answerUnknown:
			unknown = append(unknown, cur)
		}
		lastErr = err
		s.logger.Warn("append: batch publish failed; checking and retrying", "streams", len(parts), "err", lastErr)
		checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.PublishTimeout)
		out, ok, err := landed(checkCtx)
		cancel()
		if err == nil && ok {
			return out, nil
		}
		if err := pause(); err != nil {
			return nil, errors.Join(err, lastErr)
		}
	}
}

// split cuts the placed events of a batch back into its parts and
// remembers each subject's new head.
func (s *Store) split(subjects []string, prepared [][]eventstore.Event, all []eventstore.Event) [][]eventstore.Event {
	out := make([][]eventstore.Event, len(prepared))
	at := 0
	for i, p := range prepared {
		out[i] = s.stored(subjects[i], all[at:at+len(p):at+len(p)])
		at += len(p)
	}
	return out
}
