package eventstore

import "fmt"

// ErrDuplicateID reports that an event with the same ID is already stored
// (or appears twice in one Append). It matches [ErrInvalid] too, so callers
// that only distinguish bad input keep working; a caller that retries a
// command after a lost reply can branch on it to learn that the first
// attempt was stored. Nothing of the failing Append is written.
var ErrDuplicateID = fmt.Errorf("%w: duplicate event id", ErrInvalid)
