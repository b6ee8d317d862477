package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/partyledger/partyledger/eventstore"
)

// apiPrefix is the JetStream API subject prefix (no domain).
const apiPrefix = "$JS.API."

// directBatch is how many messages one direct get asks for.
const directBatch = 1000

// msgGetRequest is the body of a message get (leader) or direct get
// (any replica) request.
type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
	Batch   int    `json:"batch,omitempty"`
}

// storedMsg is one message as the stream holds it.
type storedMsg struct {
	Subject  string `json:"subject"`
	Sequence uint64 `json:"seq"`
	Header   []byte `json:"hdrs,omitempty"`
	Data     []byte `json:"data,omitempty"`
}

// errNoMsg means the requested message does not exist.
var errNoMsg = errors.New("no such message")

// leaderGet reads one message through the stream leader
// ($JS.API.STREAM.MSG.GET), which answers with what has been acknowledged:
// the consistent read that appends build on. (nats.go switches such reads
// to direct gets, answered by any replica, once a stream allows them.)
// It returns errNoMsg when there is no such message.
func (s *Store) leaderGet(ctx context.Context, req msgGetRequest) (storedMsg, nats.Header, error) {
	return s.leaderGetFrom(ctx, s.name, req)
}

// leaderGetFrom is leaderGet from the stream named stream (such as a
// shared-state bucket's, kvread.go).
func (s *Store) leaderGetFrom(ctx context.Context, stream string, req msgGetRequest) (storedMsg, nats.Header, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return storedMsg{}, nil, err
	}
	rctx, cancel := s.requestContext(ctx)
	defer cancel()
	reply, err := s.nc.RequestWithContext(rctx, apiPrefix+"STREAM.MSG.GET."+stream, body)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = nats.ErrTimeout // this request timed out, the caller has not
		}
		return storedMsg{}, nil, unavailable(err)
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error,omitempty"`
		Message *storedMsg          `json:"message,omitempty"`
	}
	if err := json.Unmarshal(reply.Data, &resp); err != nil {
		return storedMsg{}, nil, fmt.Errorf("%w: bad message get answer: %v", eventstore.ErrUnavailable, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return storedMsg{}, nil, errNoMsg
		}
		return storedMsg{}, nil, unavailable(resp.Error)
	}
	if resp.Message == nil {
		return storedMsg{}, nil, fmt.Errorf("%w: empty message get answer", eventstore.ErrUnavailable)
	}
	var hdr nats.Header
	if len(resp.Message.Header) > 0 {
		if hdr, err = nats.DecodeHeadersMsg(resp.Message.Header); err != nil {
			return storedMsg{}, nil, err
		}
	}
	return *resp.Message, hdr, nil
}

// requestContext bounds one request by the publish timeout (or ctx's
// deadline if that comes first), so that a request nobody answers (no
// stream leader for a while) is retried rather than waited for.
func (s *Store) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.PublishTimeout)
}

// directRead reads the messages of filter (a subject or wildcard) from
// sequence from on, at most limit of them, with batched direct gets (ADR-31):
// one request per [directBatch] messages, answered by any replica. A
// replica that lags may return less than the leader holds; the caller
// compares with a sequence learnt from the leader.
func (s *Store) directRead(ctx context.Context, filter string, from uint64, limit int, fn func(ev eventstore.Event) bool) error {
	inbox := s.nc.NewInbox()
	// A channel sized for one batch and its end marker: SubscribeSync's
	// default buffer would be allocated (and cleared) for every read.
	ch := make(chan *nats.Msg, min(limit, directBatch)+2)
	sub, err := s.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return unavailable(err)
	}
	defer sub.Unsubscribe()
	for limit > 0 {
		n := min(limit, directBatch)
		body, _ := json.Marshal(msgGetRequest{Seq: from, NextFor: filter, Batch: n})
		if err := s.nc.PublishRequest(apiPrefix+"DIRECT.GET."+s.name, inbox, body); err != nil {
			return unavailable(err)
		}
		got := 0
		for {
			var m *nats.Msg
			timer := time.NewTimer(s.opts.PublishTimeout)
			select {
			case m = <-ch:
			case <-ctx.Done():
			case <-timer.C:
			}
			timer.Stop()
			if m == nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("%w: direct get: no answer within %s", eventstore.ErrUnavailable, s.opts.PublishTimeout)
			}
			if st := m.Header.Get("Status"); st != "" {
				switch st {
				case "204": // end of batch
				case "404": // nothing (more) matches
					return nil
				default:
					return fmt.Errorf("%w: direct get: status %s %s", eventstore.ErrUnavailable, st, m.Header.Get("Description"))
				}
				break
			}
			seq, err := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
			if err != nil {
				return fmt.Errorf("direct get: bad sequence header %q", m.Header.Get(jetstream.SequenceHeader))
			}
			ev, err := decode(m.Data, seq)
			if err != nil {
				return err
			}
			got++
			limit--
			from = seq + 1
			if !fn(ev) {
				return nil
			}
		}
		if got < n {
			return nil // the batch ended early: nothing more
		}
	}
	return nil
}
