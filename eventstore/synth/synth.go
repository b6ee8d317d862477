// Package synth writes synthetic event logs shaped like a busy register of
// interested parties into any [eventstore.Store]. Benchmarks, the load
// generator and the crash tests use it to get large, valid logs quickly.
//
// # Shape of the log
//
// Each party's stream starts with party.identified, then five
// requirement.identified events, then a rotation of party.revised,
// requirement.revised and requirement.addressing_decided events. Every
// event decodes with [domain.Decode] and applies cleanly to the projections.
// Parties are written round-robin in chunks, so a batch of the log touches
// many parties, as in a real log. Management reviews are spread over the log;
// the last one is followed by [Options.Tail] events, which are then the
// "changes since the last management review".
package synth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Defaults for [Options].
const (
	DefaultWriters = 8
	DefaultChunk   = 10
)

// Options describes the log [Fill] writes.
type Options struct {
	// Events is the total number of events, reviews included.
	Events int
	// Parties is the number of party streams (at least 1).
	Parties int
	// Reviews is the number of management_review.held events (0 for none).
	Reviews int
	// Tail is how many events follow the last review. Zero means Events/100.
	// Ignored when Reviews is 0.
	Tail int
	// Writers is how many goroutines append at once, so that the store can
	// batch them (group commit). Zero means [DefaultWriters].
	Writers int
	// Chunk is how many events of one party go into one Append. Zero means
	// [DefaultChunk].
	Chunk int
	// Start is the time of the first event; each event is one second after
	// the previous one. Zero means 2024-01-01T00:00:00Z.
	Start time.Time
	// Actor is recorded on every event. Empty means "synth".
	Actor string
}

// Result says what [Fill] wrote.
type Result struct {
	Events     int
	Parties    []domain.PartyID
	Reviews    []domain.ReviewID
	LastReview int64 // position of the last review, 0 if none
}

// Fill appends a synthetic log to store, which should be empty (Fill does not
// check: appending to a non-empty store adds parties with new ids). It
// returns the first error of any writer.
func Fill(ctx context.Context, store eventstore.Store, o Options) (Result, error) {
	if o.Events < 1 || o.Parties < 1 {
		return Result{}, errors.New("synth: Events and Parties must be at least 1")
	}
	if o.Writers < 1 {
		o.Writers = DefaultWriters
	}
	if o.Chunk < 1 {
		o.Chunk = DefaultChunk
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Actor == "" {
		o.Actor = "synth"
	}
	if o.Reviews > 0 && o.Tail <= 0 {
		o.Tail = o.Events / 100
	}
	g := &gen{o: o, parties: make([]*party, o.Parties)}
	for i := range g.parties {
		g.parties[i] = &party{n: i, id: domain.PartyID(newID())}
	}
	res := Result{}
	for _, p := range g.parties {
		res.Parties = append(res.Parties, p.id)
	}

	// Segments of party events, each followed by a review.
	body := o.Events - o.Reviews
	if body < 0 {
		return Result{}, errors.New("synth: more reviews than events")
	}
	var segments []int
	if o.Reviews == 0 {
		segments = []int{body}
	} else {
		tail := min(o.Tail, body)
		head := body - tail
		for i := range o.Reviews {
			segments = append(segments, head/o.Reviews+boolInt(i < head%o.Reviews))
		}
		segments = append(segments, tail)
	}
	for i, n := range segments {
		if err := g.segment(ctx, store, n); err != nil {
			return res, err
		}
		res.Events += n
		if i < o.Reviews {
			id, pos, err := g.review(ctx, store, i)
			if err != nil {
				return res, err
			}
			res.Reviews = append(res.Reviews, id)
			res.LastReview = pos
			res.Events++
		}
	}
	return res, nil
}

// File returns the path of a log file in dir that holds the log o
// describes, creating it with open and [Fill] when it does not exist yet. The
// file name encodes o, so a file is reused only for the same options. The
// log is written under a temporary name and renamed once complete, so an
// interrupted run leaves no partial log behind. Callers must not run File
// for the same dir and options concurrently.
func File(ctx context.Context, dir string, o Options, open func(ctx context.Context, path string) (eventstore.Store, error)) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("synth-v1-e%d-p%d-r%d-t%d.db", o.Events, o.Parties, o.Reviews, o.Tail))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	tmp := path + ".tmp"
	for _, f := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("synth: %w", err)
		}
	}
	store, err := open(ctx, tmp)
	if err != nil {
		return "", fmt.Errorf("synth: open %s: %w", tmp, err)
	}
	_, err = Fill(ctx, store, o)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	// Closing the last connection normally checkpoints and deletes the WAL;
	// if one is left, it belongs to the file and moves with it.
	if _, err := os.Stat(tmp + "-wal"); err == nil {
		if err := os.Rename(tmp+"-wal", path+"-wal"); err != nil {
			return "", fmt.Errorf("synth: %w", err)
		}
	}
	os.Remove(tmp + "-shm")
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("synth: %w", err)
	}
	return path, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

type party struct {
	n     int
	id    domain.PartyID
	reqs  []domain.RequirementID
	count int
}

type gen struct {
	o       Options
	parties []*party
	seq     atomic.Int64 // events generated so far: the clock
	cursor  []int        // per writer: how many chunks it has written
}

func (g *gen) at() time.Time {
	return g.o.Start.Add(time.Duration(g.seq.Add(1)-1) * time.Second)
}

// segment appends n party events. Writer w owns the parties whose index is
// w modulo the number of writers and takes them in turn, Chunk events each,
// until the segment's share is written; a party is thus only ever appended
// to by one goroutine.
func (g *gen) segment(ctx context.Context, store eventstore.Store, n int) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		left     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	left.Store(int64(n))
	writers := min(g.o.Writers, len(g.parties))
	if len(g.cursor) != writers {
		g.cursor = make([]int, writers)
	}
	chunk := int64(g.o.Chunk)
	for w := range writers {
		owned := (len(g.parties) - w + writers - 1) / writers
		wg.Go(func() {
			for {
				take := min(chunk, left.Add(-chunk)+chunk)
				if take <= 0 {
					return
				}
				p := g.parties[w+writers*(g.cursor[w]%owned)]
				g.cursor[w]++
				if err := g.appendChunk(ctx, store, p, int(take)); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// appendChunk appends the party's next k events in one Append. Each party is
// handled by one writer at a time, so its count needs no lock.
func (g *gen) appendChunk(ctx context.Context, store eventstore.Store, p *party, k int) error {
	evs := make([]eventstore.Event, 0, k)
	for range k {
		de := g.event(p)
		data, err := json.Marshal(de)
		if err != nil {
			return fmt.Errorf("synth: encode %s: %w", de.EventType(), err)
		}
		evs = append(evs, eventstore.Event{ID: newID(), Type: de.EventType(), Schema: domain.CurrentSchema,
			Time: g.at(), Actor: g.o.Actor, Reason: "synthetic load", Trigger: "other", Data: data})
	}
	if _, err := store.Append(ctx, p.id.Stream(), eventstore.AnyVersion, evs); err != nil {
		return fmt.Errorf("synth: append to %s: %w", p.id.Stream(), err)
	}
	return nil
}

// event returns the party's next event.
func (g *gen) event(p *party) domain.Event {
	j := p.count
	p.count++
	switch {
	case j == 0:
		return domain.PartyIdentified{PartyID: p.id, Name: fmt.Sprintf("Party %06d", p.n),
			Category: domain.Categories[p.n%len(domain.Categories)], Scope: domain.Scopes[p.n%len(domain.Scopes)],
			Description: "a party of the synthetic register", Owner: "CISO", Influence: 1 + p.n%5, Interest: 1 + (p.n/5)%5}
	case j <= 5:
		r := domain.RequirementID(newID())
		p.reqs = append(p.reqs, r)
		return domain.RequirementIdentified{PartyID: p.id, RequirementID: r, Kind: "requirement",
			Title: fmt.Sprintf("Requirement %d", j), Description: "must hold", SourceType: "contract",
			SourceRef: "MSA §7.2", Owner: "DPO", Priority: "medium", Controls: []string{}}
	}
	r := p.reqs[j%len(p.reqs)]
	switch j % 4 {
	case 0:
		return domain.PartyRevised{PartyID: p.id, Changes: domain.Changes{
			"owner":    {From: fmt.Sprint("owner ", j-4), To: fmt.Sprint("owner ", j)},
			"interest": {From: 1 + (j/4)%5, To: 1 + (j/4+1)%5}}}
	case 1:
		return domain.RequirementRevised{PartyID: p.id, RequirementID: r, Changes: domain.Changes{
			"title": {From: "Requirement", To: fmt.Sprint("Requirement ", j)}}}
	case 2:
		addressed := j%3 == 0
		return domain.RequirementAddressingDecided{PartyID: p.id, RequirementID: r,
			Addressed: &addressed, Rationale: "risk treatment plan", Controls: []string{"A.5.19"},
			Changes: domain.Changes{"addressed": {From: nil, To: addressed}}}
	default:
		return domain.RequirementRevised{PartyID: p.id, RequirementID: r, Changes: domain.Changes{
			"priority": {From: "medium", To: "high"}, "review_due": {From: nil, To: "2027-01-01"}}}
	}
}

// review appends the i-th management review and returns its position.
func (g *gen) review(ctx context.Context, store eventstore.Store, i int) (domain.ReviewID, int64, error) {
	id := domain.ReviewID(newID())
	at := g.at()
	de := domain.ManagementReviewHeld{ReviewID: id, HeldOn: at.Format(time.DateOnly),
		Title: fmt.Sprintf("Management review %d", i+1), Attendees: []string{"CEO", "CISO"}, Notes: "synthetic"}
	data, err := json.Marshal(de)
	if err != nil {
		return "", 0, fmt.Errorf("synth: encode review: %w", err)
	}
	stored, err := store.Append(ctx, id.Stream(), eventstore.NoStream, []eventstore.Event{{ID: newID(),
		Type: de.EventType(), Schema: domain.CurrentSchema, Time: at, Actor: g.o.Actor,
		Reason: "management review", Trigger: "management_review", Data: data}})
	if err != nil {
		return "", 0, fmt.Errorf("synth: append review: %w", err)
	}
	return id, stored[0].Position, nil
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }
