package verify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/partyledger/partyledger/eventstore"
)

// Reader is the part of an event store that [FromStore] reads;
// [eventstore.Store] has it.
type Reader interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)
}

// DefaultBatch is how many events [FromStore] reads at once.
const DefaultBatch = 2048

// FromStore yields every event of r with Position > after, in position
// order, reading batch events at a time (0 means [DefaultBatch]).
//
// A batch that fails to read is read again one event at a time; an event
// that still fails is yielded as an [*UnreadableError] and skipped, so a
// corrupted row is reported at its position instead of ending the walk.
// Errors that mean the store cannot be read at all
// ([eventstore.ErrUnavailable], [eventstore.ErrClosed], a done ctx) are
// yielded as they are, and end the sequence.
func FromStore(ctx context.Context, r Reader, after int64, batch int) iter.Seq2[eventstore.Event, error] {
	if batch <= 0 {
		batch = DefaultBatch
	}
	return func(yield func(eventstore.Event, error) bool) {
		for {
			evs, err := r.ReadAll(ctx, after, batch)
			if err != nil {
				if fatalRead(ctx, err) {
					yield(eventstore.Event{}, err)
					return
				}
				// Find the unreadable event: read one at a time.
				one, err := r.ReadAll(ctx, after, 1)
				if err != nil {
					if fatalRead(ctx, err) {
						yield(eventstore.Event{}, err)
						return
					}
					if !yield(eventstore.Event{}, &UnreadableError{After: after, Err: err}) {
						return
					}
					after++ // gap-free stores: the bad event is at after+1
					continue
				}
				evs = one
			}
			if len(evs) == 0 {
				return
			}
			for _, ev := range evs {
				if !yield(ev, nil) {
					return
				}
			}
			after = evs[len(evs)-1].Position
		}
	}
}

func fatalRead(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, eventstore.ErrUnavailable) || errors.Is(err, eventstore.ErrClosed) ||
		errors.Is(err, eventstore.ErrInvalid) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// MaxLine is the longest events.jsonl line [FromJSONL] accepts.
const MaxLine = 16 << 20

// FromJSONL yields the events of an events.jsonl file as written by
// [WriteJSONL]: one envelope per line, in position order. A line that is not
// an envelope is yielded as an [*UnreadableError]; a read error ends the
// sequence.
func FromJSONL(r io.Reader) iter.Seq2[eventstore.Event, error] {
	return func(yield func(eventstore.Event, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), MaxLine)
		var last int64
		line := 0
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			ev, err := DecodeLine(b)
			if err != nil {
				if !yield(eventstore.Event{}, &UnreadableError{After: last, Err: fmt.Errorf("line %d: %w", line, err)}) {
					return
				}
				last++
				continue
			}
			last = ev.Position
			if !yield(ev, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(eventstore.Event{}, fmt.Errorf("read events.jsonl: %w", err))
		}
	}
}

// DecodeLine decodes one events.jsonl line. Data keeps the exact bytes of
// the line's "data" value, which are the bytes the hash covers.
func DecodeLine(b []byte) (eventstore.Event, error) {
	var ev eventstore.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return ev, err
	}
	if ev.Data == nil {
		return ev, errors.New(`no "data" member`)
	}
	return ev, nil
}

// WriteJSONL writes ev as one events.jsonl line: the envelope as JSON with
// "data" as the last member, holding the exact stored bytes of the event's
// data (not re-encoded), so that the line can be hashed again by any tool.
// The other members are encoded by encoding/json, which never writes the
// byte sequence `,"data":` inside a string, so the first occurrence of
// `,"data":` in a line starts the data value, which runs to the line's
// final `}`.
//
// It fails for data that holds a line break (insignificant JSON whitespace,
// which the domain never writes): the line could not carry it.
func WriteJSONL(w io.Writer, ev eventstore.Event) error {
	if bytes.ContainsAny(ev.Data, "\r\n") {
		return fmt.Errorf("event %d: data holds a line break and cannot be written as one line", ev.Position)
	}
	head := struct {
		ID            string `json:"id"`
		Stream        string `json:"stream"`
		Version       int64  `json:"version"`
		Position      int64  `json:"position"`
		Type          string `json:"type"`
		Schema        int    `json:"schema"`
		Time          string `json:"time"`
		Actor         string `json:"actor"`
		Reason        string `json:"reason"`
		Trigger       string `json:"trigger"`
		CorrelationID string `json:"correlation_id"`
		CausationID   string `json:"causation_id"`
		EffectiveOn   string `json:"effective_on,omitempty"`
		PrevHash      string `json:"prev_hash"`
		Hash          string `json:"hash"`
	}{ev.ID, ev.Stream, ev.Version, ev.Position, ev.Type, ev.Schema, eventstore.FormatTime(ev.Time),
		ev.Actor, ev.Reason, ev.Trigger, ev.CorrelationID, ev.CausationID, ev.EffectiveOn, ev.PrevHash, ev.Hash}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(head); err != nil {
		return err
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	b = b[:len(b)-1] // drop the closing brace
	b = append(b, `,"data":`...)
	b = append(b, ev.Data...)
	b = append(b, "}\n"...)
	_, err := w.Write(b)
	return err
}
