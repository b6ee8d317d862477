package eventstore

import "fmt"

// Prepare validates events for an append to stream and returns normalised
// copies: Stream set, Version, Position, PrevHash and Hash cleared (the
// store assigns them), Time in UTC without monotonic reading, and Data in
// canonical form, copied so the caller may reuse its buffers. It checks
// only the events; the store checks the stream name, the count and the
// expected version itself.
//
// The error names the event by index and ID and wraps the cause: the error
// of Event.Validate, ErrDuplicateID when an ID repeats within events,
// ErrInvalid when Time lies outside the years 0001-9999 (there TimeFormat
// is not fixed width and the stored time would not parse back), the
// error of CanonicalData, or the error of [Event.CheckRoundTrip] (a string
// field that is not valid UTF-8 or does not survive the JSON round trip).
func Prepare(stream string, events []Event) ([]Event, error) {
	out := make([]Event, len(events))
	seen := make(map[string]struct{}, len(events))
	for i, ev := range events {
		if err := ev.Validate(); err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, ev.ID, err)
		}
		if _, dup := seen[ev.ID]; dup {
			return nil, fmt.Errorf("event %d (%s): %w", i, ev.ID, ErrDuplicateID)
		}
		if y := ev.Time.UTC().Year(); y < 1 || y > 9999 {
			return nil, fmt.Errorf("event %d (%s): %w: time %s outside years 0001-9999", i, ev.ID, ErrInvalid, ev.Time)
		}
		seen[ev.ID] = struct{}{}
		ev.Stream = stream
		ev.Version, ev.Position, ev.PrevHash, ev.Hash = 0, 0, "", ""
		ev.Time = ev.Time.UTC().Round(0)
		data, err := CanonicalData(ev.Data)
		if err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, ev.ID, err)
		}
		ev.Data = data
		if err := ev.CheckRoundTrip(); err != nil {
			return nil, fmt.Errorf("event %d (%s): %w", i, ev.ID, err)
		}
		out[i] = ev
	}
	return out, nil
}
