package jetstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/partyledger/partyledger/eventstore"
)

// Headers of JetStream's atomic batch publish (ADR-50), which nats.go
// v1.55 has no client API for.
const (
	hdrBatchID     = "Nats-Batch-Id"
	hdrBatchSeq    = "Nats-Batch-Sequence"
	hdrBatchCommit = "Nats-Batch-Commit"
)

// JetStream API error codes the store branches on.
const (
	errWrongLastSeq         jetstream.ErrorCode = 10071 // wrong last sequence: {seq}
	errWrongLastSeqConstant jetstream.ErrorCode = 10164 // wrong last sequence (replicated streams, subject in flight)
	errDupInProcess         jetstream.ErrorCode = 10158 // duplicate message id is in process
	errBatchIncomplete      jetstream.ErrorCode = 10176 // atomic publish batch is incomplete
	errBatchDuplicate       jetstream.ErrorCode = 10201 // atomic publish batch contains duplicate message id
	errBatchTooMany         jetstream.ErrorCode = 10210 // atomic publish too many inflight
	errMsgTooBig            jetstream.ErrorCode = 10054 // message size exceeds maximum allowed
	errClusterNotAvail      jetstream.ErrorCode = 10008
	errNotLeader            jetstream.ErrorCode = 10009
)

// pubResponse is JetStream's answer to a publish: an ack or an error.
type pubResponse struct {
	Error     *jetstream.APIError `json:"error,omitempty"`
	Stream    string              `json:"stream"`
	Sequence  uint64              `json:"seq"`
	Duplicate bool                `json:"duplicate,omitempty"`
	Batch     string              `json:"batch,omitempty"`
	Count     int                 `json:"count,omitempty"`
}

// head is what the store knows of a stream before it appends to it.
type head struct {
	seq     uint64 // JetStream sequence of the stream's last event; 0 for none
	version int64
	hash    string
}

// Append implements [eventstore.Store.Append].
//
// # How it works
//
// It reads the stream's last message (its subject's last sequence, version
// and hash), builds the events on top of it, and publishes them with the
// expected-last-subject-sequence header set to that sequence and
// Nats-Msg-Id set to each event id. One event is one publish; several are
// one atomic batch (ADR-50: Nats-Batch-Id, Nats-Batch-Sequence and a
// Nats-Batch-Commit on the last), which the server stores all together or
// not at all, under consecutive sequences. Nothing is locked: a concurrent
// append to the same stream makes the server refuse ours with "wrong last
// sequence" (error 10071, or 10164 on a replicated stream while the other
// append is in flight), and Append reads the stream again: it reports a
// [*eventstore.ConflictError] when the version moved away from the
// expected one, and retries otherwise (always with [eventstore.AnyVersion]).
//
// # Retries and lost acknowledgements
//
// A publish whose answer is lost (timeout, leader change, reconnect) may
// or may not have been stored. Before retrying, and on every "wrong last
// sequence", Append looks at the first message of the stream after the
// one it built on: if that is ours (same event id and the very same bytes),
// the earlier attempt was stored and Append returns it, so a lost ack is
// never reported as a conflict nor stored twice. The same check settles a
// duplicate acknowledgement. A retry publishes the same bytes under the
// same event ids, which the stream's duplicate window also de-duplicates.
//
// # Errors
//
// A *ConflictError for a wrong expected version; an error matching
// [eventstore.ErrInvalid] for bad input (an invalid stream name, more than
// [MaxAppend] events, a message over the server's size limit) and
// [eventstore.ErrDuplicateID] for an event id already stored (detected
// within the stream's duplicate window, and whenever the id belongs to the
// stream's next message); [eventstore.ErrClosed] after Close. When ctx ends
// or the servers stay unreachable, Append makes a last check and returns
// either the stored events or ctx.Err() / an error matching
// [eventstore.ErrUnavailable]: in that case the outcome may be unknown
// (the publish may still land), and appending the same events again
// (same ids, same expected version) is safe.
func (s *Store) Append(ctx context.Context, stream string, expectedVersion int64, events []eventstore.Event) ([]eventstore.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	evs, err := prepare(stream, expectedVersion, events)
	if err != nil {
		return nil, fmt.Errorf("jetstream: append %s: %w", stream, err)
	}
	if !s.begin() {
		return nil, eventstore.ErrClosed
	}
	defer s.end()
	stored, err := s.append(ctx, stream, expectedVersion, evs)
	if err != nil {
		return nil, fmt.Errorf("jetstream: append %s: %w", stream, err)
	}
	return stored, nil
}

func (s *Store) append(ctx context.Context, stream string, expected int64, evs []eventstore.Event) ([]eventstore.Event, error) {
	subject := subjectFor(s.prefix, stream)
	bo := s.backoff()
	pause := func() error { return bo.pause(ctx) }
	var (
		lastErr error
		// unknown are the heads of attempts whose outcome is unknown (no
		// answer): such a publish may still land, so every later decision
		// first checks whether it did.
		unknown []head
	)
	// The head this process saw last, if the caller's expected version
	// matches it, saves reading it again; a stale one only costs a "wrong
	// last sequence" and a fresh read.
	cached, useCache := s.heads.get(subject)
	useCache = useCache && expected != eventstore.AnyVersion && cached.version == expected
	for attempt := 1; ; attempt++ {
		var (
			h   head
			err error
		)
		if useCache {
			h, useCache = cached, false
		} else {
			h, err = s.head(ctx, subject)
		}
		if err == nil {
			for _, u := range unknown {
				if u.seq == h.seq {
					continue // not landed yet, or the publish below says so
				}
				msgs, built, berr := build(subject, evs, u)
				if berr != nil {
					return nil, berr
				}
				first, ok, oerr := s.ours(ctx, subject, u, msgs)
				if oerr != nil {
					err = oerr
					break
				}
				if ok {
					return s.stored(subject, placed(built, first+uint64(len(built))-1)), nil
				}
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
		if expected != eventstore.AnyVersion && expected != h.version {
			return nil, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: h.version}
		}
		msgs, built, err := build(subject, evs, h)
		if err != nil {
			return nil, err
		}
		resp, perr := s.publish(ctx, msgs, h.seq)
		outcome, wait, err := classify(ctx, resp, perr)
		switch outcome {
		case answerStored:
			return s.stored(subject, placed(built, resp.Sequence)), nil

		case answerDuplicate:
			// One event whose id the stream has seen: ours from an
			// earlier attempt, or another event's id.
			m, _, err := s.leaderGet(ctx, msgGetRequest{Seq: resp.Sequence})
			if err != nil {
				return nil, err
			}
			if m.Subject == subject && bytes.Equal(m.Data, msgs[0].Data) {
				return s.stored(subject, placed(built, m.Sequence)), nil
			}
			return nil, fmt.Errorf("%w: event %s is stored at position %d", eventstore.ErrDuplicateID, built[0].ID, resp.Sequence)

		case answerRaced:
			if first, ok, oerr := s.ours(ctx, subject, h, msgs); oerr != nil {
				return nil, oerr
			} else if ok {
				return s.stored(subject, placed(built, first+uint64(len(built))-1)), nil
			}
			if err != nil {
				return nil, err
			}
			// 10071: another append won. 10164 and 10158: an append
			// to the stream, or one with our ids (an earlier attempt
			// of ours?), is in flight: wait, and check it later.
			if wait {
				unknown = appendHead(unknown, h)
				if err := pause(); err != nil {
					return nil, err
				}
			}
			// Read the stream again, which decides between conflict
			// and retry.
			continue

		case answerFailed:
			return nil, err

		case answerUnknown:
			unknown = appendHead(unknown, h)
		}
		lastErr = err

		// The publish failed or its outcome is unknown: find out whether
		// it landed, then retry.
		s.logger.Warn("append: publish failed; checking and retrying", "subject", subject, "attempt", attempt, "err", lastErr)
		checkCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.PublishTimeout)
		first, ok, err := s.ours(checkCtx, subject, h, msgs)
		cancel()
		if err == nil && ok {
			return s.stored(subject, placed(built, first+uint64(len(built))-1)), nil
		}
		if err := pause(); err != nil {
			return nil, errors.Join(err, lastErr)
		}
	}
}

// stored remembers the new head of subject and returns evs.
func (s *Store) stored(subject string, evs []eventstore.Event) []eventstore.Event {
	last := evs[len(evs)-1]
	s.heads.put(subject, head{seq: uint64(last.Position), version: last.Version, hash: last.Hash})
	return evs
}

// appendHead adds h to hs unless it is there.
func appendHead(hs []head, h head) []head {
	for _, x := range hs {
		if x.seq == h.seq {
			return hs
		}
	}
	return append(hs, h)
}

// prepare validates the caller's events and returns normalised copies, as
// the SQLite store does.
func prepare(stream string, expected int64, events []eventstore.Event) ([]eventstore.Event, error) {
	switch {
	case !validStream(stream):
		return nil, fmt.Errorf("%w: stream name %q (want letters, digits, '_' and '-')", eventstore.ErrInvalid, stream)
	case len(events) == 0:
		return nil, fmt.Errorf("%w: no events", eventstore.ErrInvalid)
	case len(events) > MaxAppend:
		return nil, fmt.Errorf("%w: %d events in one append, at most %d", eventstore.ErrInvalid, len(events), MaxAppend)
	case expected < eventstore.AnyVersion:
		return nil, fmt.Errorf("%w: expected version %d", eventstore.ErrInvalid, expected)
	}
	return eventstore.Prepare(stream, events)
}

// build places evs after h: versions, chain and hashes, and their messages.
func build(subject string, evs []eventstore.Event, h head) ([]*nats.Msg, []eventstore.Event, error) {
	built := make([]eventstore.Event, len(evs))
	msgs := make([]*nats.Msg, len(evs))
	prev := h.hash
	for i, ev := range evs {
		ev.Version = h.version + 1 + int64(i)
		ev.PrevHash = prev
		ev.Hash = ComputeHash(ev)
		prev = ev.Hash
		m, err := newMsg(subject, &ev)
		if err != nil {
			return nil, nil, fmt.Errorf("encode event %s: %w", ev.ID, err)
		}
		built[i], msgs[i] = ev, m
	}
	return msgs, built, nil
}

// placed returns built with positions ending at last: a batch is stored
// under consecutive sequences.
func placed(built []eventstore.Event, last uint64) []eventstore.Event {
	first := int64(last) - int64(len(built)) + 1
	for i := range built {
		built[i].Position = first + int64(i)
	}
	return built
}

// publish sends msgs expecting the subject's last sequence to be lastSeq:
// one message as a plain publish, several as one atomic batch. It returns
// the server's answer, or an error when there is none.
func (s *Store) publish(ctx context.Context, msgs []*nats.Msg, lastSeq uint64) (pubResponse, error) {
	msgs[0].Header.Set(nats.ExpectedLastSubjSeqHdr, strconv.FormatUint(lastSeq, 10))
	return s.send(ctx, msgs)
}

// send publishes msgs, whose expectation headers are set, as one message or
// one atomic batch, and returns the server's answer.
func (s *Store) send(ctx context.Context, msgs []*nats.Msg) (pubResponse, error) {
	if s.testSendTwice.Load() > 0 && s.testSendTwice.Add(-1) >= 0 {
		// Test hook: an earlier attempt that was stored but whose answer
		// was lost (sent without a reply subject).
		markBatch(msgs)
		for _, m := range msgs {
			if err := s.nc.PublishMsg(m); err != nil {
				return pubResponse{}, err
			}
		}
	}
	// The staged messages of a batch need no answer: the commit's answer
	// covers the whole batch, and a staged message that went missing makes
	// the commit fail as incomplete.
	markBatch(msgs)
	for _, m := range msgs[:len(msgs)-1] {
		if err := s.nc.PublishMsg(m); err != nil {
			return pubResponse{}, err
		}
	}
	actx, cancel := context.WithTimeout(ctx, s.opts.PublishTimeout)
	defer cancel()
	reply, err := s.nc.RequestMsgWithContext(actx, msgs[len(msgs)-1])
	if err == nil && s.testLoseAnswers.Load() > 0 && s.testLoseAnswers.Add(-1) >= 0 {
		err = context.DeadlineExceeded // test hook: the answer was lost
	}
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = nats.ErrTimeout // this attempt timed out, the caller has not
		}
		return pubResponse{}, err
	}
	var resp pubResponse
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		if st := reply.Header.Get("Status"); st == "503" {
			return pubResponse{}, nats.ErrNoResponders
		}
		return pubResponse{}, fmt.Errorf("%w: bad publish answer %q: %v", eventstore.ErrUnavailable, reply.Data, err)
	}
	if resp.Error == nil && resp.Count > 0 && resp.Count != len(msgs) {
		return pubResponse{}, fmt.Errorf("publish answer counts %d messages in the batch, sent %d", resp.Count, len(msgs))
	}
	return resp, nil
}

// markBatch makes several messages one atomic batch under a new batch id:
// a sequence on each, the commit header on the last.
func markBatch(msgs []*nats.Msg) {
	if len(msgs) < 2 {
		return
	}
	id := nuid.Next()
	for i, m := range msgs {
		m.Header.Set(hdrBatchID, id)
		m.Header.Set(hdrBatchSeq, strconv.Itoa(i+1))
	}
	msgs[len(msgs)-1].Header.Set(hdrBatchCommit, "1")
}

// ours reports whether msgs are stored: whether the first message of
// subject after h.seq is our first message, byte for byte. It returns that
// message's sequence.
func (s *Store) ours(ctx context.Context, subject string, h head, msgs []*nats.Msg) (uint64, bool, error) {
	m, hdr, err := s.leaderGet(ctx, msgGetRequest{Seq: h.seq + 1, NextFor: subject})
	if errors.Is(err, errNoMsg) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if hdr.Get(nats.MsgIdHdr) != msgs[0].Header.Get(nats.MsgIdHdr) || !bytes.Equal(m.Data, msgs[0].Data) {
		return 0, false, nil
	}
	return m.Sequence, true, nil
}

// headCacheSize bounds [headCache]; it is emptied when full.
const headCacheSize = 4096

// headCache remembers the last head seen per subject. It is safe for
// concurrent use.
type headCache struct {
	mu sync.Mutex
	m  map[string]head
}

func (c *headCache) get(subject string) (head, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.m[subject]
	return h, ok
}

// put records h unless a later head is known.
func (c *headCache) put(subject string, h head) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= headCacheSize {
		c.m = make(map[string]head)
	}
	if old, ok := c.m[subject]; !ok || old.seq < h.seq {
		c.m[subject] = h
	}
}

// head reads the last event of subject from the stream leader.
func (s *Store) head(ctx context.Context, subject string) (head, error) {
	m, hdr, err := s.leaderGet(ctx, msgGetRequest{LastFor: subject})
	if errors.Is(err, errNoMsg) {
		return head{}, nil
	}
	if err != nil {
		return head{}, err
	}
	ev, err := decode(m.Data, m.Sequence)
	if err != nil {
		return head{}, err
	}
	if v := hdr.Get(HeaderVersion); v != strconv.FormatInt(ev.Version, 10) {
		return head{}, fmt.Errorf("message %d: version header %q differs from the event's version %d", m.Sequence, v, ev.Version)
	}
	return head{seq: m.Sequence, version: ev.Version, hash: ev.Hash}, nil
}
