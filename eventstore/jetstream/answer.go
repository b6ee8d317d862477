package jetstream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/eventstore"
)

// answer is what a publish's answer means to an append ([Store.Append] and
// [Store.AppendStreams] read it alike).
type answer int

const (
	// answerStored: stored, the last message at the answer's sequence.
	answerStored answer = iota
	// answerDuplicate: acknowledged as a duplicate of a message id the
	// stream has seen: an earlier attempt of ours, or another event's id.
	answerDuplicate
	// answerRaced: the expectation failed: another append moved a subject
	// (wait false), or an append to it or with our ids is in flight (wait
	// true). Our earlier attempt may be the one that moved it. err, if
	// set, is the error to return when it was not ours.
	answerRaced
	// answerFailed: a final error (err), such as a message too big.
	answerFailed
	// answerRetry: not stored; the servers cannot take it now (err).
	answerRetry
	// answerUnknown: no answer (err): the publish may still land.
	answerUnknown
)

// classify reads the outcome of one publish: the server's answer resp, or
// perr when there was none.
func classify(ctx context.Context, resp pubResponse, perr error) (a answer, wait bool, err error) {
	if perr != nil {
		err = unavailable(perr)
		if !errors.Is(err, eventstore.ErrUnavailable) && ctx.Err() == nil {
			return answerFailed, false, err
		}
		return answerUnknown, false, err
	}
	if resp.Error == nil {
		if resp.Duplicate {
			return answerDuplicate, false, nil
		}
		return answerStored, false, nil
	}
	switch resp.Error.ErrorCode {
	case errWrongLastSeq:
		return answerRaced, false, nil
	case errWrongLastSeqConstant, errDupInProcess:
		return answerRaced, true, nil
	case errBatchDuplicate:
		return answerRaced, false, fmt.Errorf("%w: %s", eventstore.ErrDuplicateID, resp.Error.Description)
	case errMsgTooBig:
		return answerFailed, false, fmt.Errorf("%w: %s", eventstore.ErrInvalid, resp.Error.Description)
	case errBatchIncomplete, errBatchTooMany, errClusterNotAvail, errNotLeader:
		return answerRetry, false, fmt.Errorf("%w: %w", eventstore.ErrUnavailable, resp.Error)
	}
	if resp.Error.Code != 503 {
		return answerFailed, false, resp.Error
	}
	return answerRetry, false, fmt.Errorf("%w: %w", eventstore.ErrUnavailable, resp.Error)
}

// backoff is the pause between an append's attempts: 5 ms doubling to 1 s,
// cut short by the caller's context or the store's closing.
type backoff struct {
	wait time.Duration
	quit <-chan struct{}
}

func (s *Store) backoff() *backoff { return &backoff{wait: 5 * time.Millisecond, quit: s.quit} }

// pause waits for the next attempt.
func (b *backoff) pause(ctx context.Context) error {
	t := time.NewTimer(b.wait)
	defer t.Stop()
	b.wait = min(2*b.wait, time.Second)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return eventstore.ErrClosed
	}
}
