package verify

import "github.com/partyledger/partyledger/eventstore"

// Chain is the linking rule of a log while it is walked in position order:
// which hash each event's PrevHash must equal.
type Chain interface {
	// Prev returns the hash ev.PrevHash must equal, given the events linked
	// so far. known is false when it cannot be told (after an unreadable
	// event, or for a stream whose earlier events were not read).
	Prev(ev *eventstore.Event) (prev string, known bool)
	// Link records ev as read.
	Link(ev *eventstore.Event)
	// Lost records that an event could not be read: the links that might
	// have gone through it are unknown.
	Lost()
}

// ChainRule makes the [Chain] state for one walk that starts after position
// after, whose event had hash afterHash (0 and "" for the whole log).
type ChainRule func(after int64, afterHash string) Chain

// GlobalChain is the rule of the SQLite store: each event's PrevHash is the
// Hash of the event at the position before it, "" for the first event.
func GlobalChain(after int64, afterHash string) Chain {
	return &globalChain{last: afterHash, known: true}
}

type globalChain struct {
	last  string
	known bool
}

func (c *globalChain) Prev(*eventstore.Event) (string, bool) { return c.last, c.known }
func (c *globalChain) Link(ev *eventstore.Event)             { c.last, c.known = ev.Hash, true }
func (c *globalChain) Lost()                                 { c.known = false }

// StreamChain chains each stream on its own: an event's PrevHash is the Hash
// of the previous event of its stream, "" for a stream's first event. It
// suits stores that order events globally but cannot link them globally
// without a global lock. When the walk starts mid-log, the first event read
// of each stream is not checked.
func StreamChain(after int64, afterHash string) Chain {
	return &streamChain{last: map[string]string{}, fromStart: after == 0}
}

type streamChain struct {
	last      map[string]string
	fromStart bool
}

func (c *streamChain) Prev(ev *eventstore.Event) (string, bool) {
	if h, ok := c.last[ev.Stream]; ok {
		return h, true
	}
	return "", c.fromStart
}

func (c *streamChain) Link(ev *eventstore.Event) { c.last[ev.Stream] = ev.Hash }

func (c *streamChain) Lost() {
	clear(c.last)
	c.fromStart = false
}
