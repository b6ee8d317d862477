package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
)

// BenchmarkReviseParty measures one revision through the whole pipeline
// (fold cache, decide, durable append, wait for the read model) on a party
// whose stream holds 10 or 300 events, with the fold cache and with a cache
// too small to keep anything (every command folds the whole stream, as
// before the cache). With the cache the cost does not grow with the stream.
//
//	go test -run '^$' -bench ReviseParty -benchtime 500x -count 3 ./handlers/commands/
func BenchmarkReviseParty(b *testing.B) {
	for _, cached := range []bool{true, false} {
		for _, n := range []int{10, 300} {
			name := fmt.Sprintf("events=%d/cache=%v", n, cached)
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				svc, _ := MustOpenService(b)
				if !cached {
					svc.Cache = commands.NewFoldCache(1) // evicts everything but the last entry
				}
				res, err := svc.IdentifyParty(ctx, identify("Bench party"))
				if err != nil {
					b.Fatal(err)
				}
				id := domain.PartyID(strings.TrimPrefix(res.Stream, domain.PartyStreamPrefix))
				other, err := svc.IdentifyParty(ctx, identify("Other party"))
				if err != nil {
					b.Fatal(err)
				}
				otherID := domain.PartyID(strings.TrimPrefix(other.Stream, domain.PartyStreamPrefix))
				for i := range n - 1 {
					d := fmt.Sprintf("seed %d", i)
					if _, err := svc.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: id, Description: &d}, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					d := fmt.Sprintf("run %d", i)
					if _, err := svc.ReviseParty(ctx, domain.ReviseParty{Meta: meta, PartyID: id, Description: &d}, nil); err != nil {
						b.Fatal(err)
					}
					if !cached { // touch another stream, so the party's entry is evicted
						if _, err := svc.LoadParty(ctx, otherID); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
