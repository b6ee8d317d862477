package jetstream

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/verify"
)

// Rules are the verification rules of a JetStream log, for package verify:
//
//   - Hash is [ComputeHash], the canonical hash of the event with
//     Position 0;
//   - the chain runs per aggregate stream ([verify.StreamChain]): PrevHash
//     is the Hash of the previous event of the same stream, "" for a
//     stream's first event, so appends to different streams need no global
//     lock;
//   - positions (JetStream sequences) strictly increase and may skip
//     numbers where messages were removed (the stream denies deletes and
//     purges, so a gap is itself a sign of tampering by an operator who
//     lifted that).
//
// Stream versions must run 1, 2, 3, ... as everywhere.
func Rules() verify.Options {
	return verify.Options{Chain: verify.StreamChain, Hash: ComputeHash, AllowGaps: true}
}

// VerifyRules returns [Rules]: serve's verify and checkpoint maker follow
// the rules of the store they run on.
func (s *Store) VerifyRules() verify.Options { return Rules() }

// CheckChain checks a whole log, read from position 0 in position order,
// under [Rules], and returns the first failure as an error.
func CheckChain(events []eventstore.Event) error {
	res, err := verify.Verify(context.Background(), func(yield func(eventstore.Event, error) bool) {
		for _, ev := range slices.Clone(events) {
			if !yield(ev, nil) {
				return
			}
		}
	}, Rules())
	if err != nil {
		return err
	}
	if !res.OK {
		return fmt.Errorf("position %d: %s", res.FirstFailure.Position, res.FirstFailure.Reason)
	}
	if res.Events != int64(len(events)) {
		return errors.New("verify read fewer events than given")
	}
	return nil
}
