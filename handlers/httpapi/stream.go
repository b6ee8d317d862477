package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// ChangeStream opens live streams of change items (implemented by
// *webhooks.Feed, which follows the change pipeline). Watch fails with an error matching
// eventstore.ErrUnavailable when too many streams are open.
type ChangeStream interface {
	Head(ctx context.Context) (int64, error)
	Watch(ctx context.Context, after int64, f webhooks.Filter) (*webhooks.Watch, error)
}

// Stream timing.
const (
	// streamHeartbeat is how often an idle stream sends a comment line, so
	// that proxies keep it open and a dead client is noticed.
	streamHeartbeat = 15 * time.Second
	// streamWriteTimeout bounds each write to a stream; the server's
	// WriteTimeout, meant for ordinary requests, is lifted.
	streamWriteTimeout = 30 * time.Second
	// streamRetryMS is the reconnection delay suggested to EventSource
	// clients.
	streamRetryMS = 2000
)

func (s *Server) streamRoutes() []route {
	if s.Stream == nil {
		return nil
	}
	return []route{{"GET", "/api/v1/stream", auth.PermRead, s.handleStream}}
}

// FilterFromQuery reads a subscription filter from query parameters: types,
// party_ids, categories and triggers, each repeated or comma-separated.
func FilterFromQuery(q url.Values) webhooks.Filter {
	list := func(name string) []string {
		var out []string
		for _, v := range q[name] {
			out = append(out, strings.Split(v, ",")...)
		}
		return out
	}
	return webhooks.Filter{Types: list("types"), PartyIDs: list("party_ids"),
		Categories: list("categories"), Triggers: list("triggers")}.Normalize()
}

// handleStream serves GET /api/v1/stream: Server-Sent Events, one event per
// new change item, with id = the item's position and data = the item as
// JSON. A client resumes after a disconnect with Last-Event-ID (browsers'
// EventSource sends it by itself); ?after=<position> starts after a given
// position; otherwise the stream starts after the last committed change.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := FilterFromQuery(q)
	if err := f.Validate(""); err != nil {
		return err
	}
	var after int64
	var err error
	switch {
	case r.Header.Get("Last-Event-ID") != "":
		if after, err = parsePosition(r.Header.Get("Last-Event-ID")); err != nil {
			return badParam("Last-Event-ID", "must be a position (a whole number >= 0)")
		}
	case q.Get("after") != "":
		if after, err = parsePosition(q.Get("after")); err != nil {
			return badParam("after", "must be a position (a whole number >= 0)")
		}
	default:
		if after, err = s.Stream.Head(r.Context()); err != nil {
			return err
		}
	}
	r, done, err := s.openStream(w, r) // per-token limit, token re-check (streamlimit.go)
	if err != nil {
		return err
	}
	defer done()
	watch, err := s.Stream.Watch(r.Context(), after, f)
	if err != nil {
		return streamWatchError(w, err)
	}

	// A stream outlives the server's timeouts (serve's WriteTimeout is 60 s):
	// keep pushing the write deadline ahead of each write, and lift any read
	// deadline so that only the client's leaving ends the stream.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	write := func(b []byte) error {
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // no proxy buffering
	w.WriteHeader(http.StatusOK)
	if err := write(fmt.Appendf(nil, ": partyledger change stream after position %d\nretry: %d\n\n", after, streamRetryMS)); err != nil {
		return nil // the client is gone
	}
	heartbeat := time.NewTicker(streamHeartbeat)
	defer heartbeat.Stop()
	var buf []byte
	for {
		select {
		case items, ok := <-watch.C:
			if !ok {
				if err := watch.Err(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, webhooks.ErrStopped) {
					s.logger().Warn("change stream ended", "err", err)
				}
				return nil
			}
			buf = buf[:0]
			for _, it := range items {
				data, err := json.Marshal(it)
				if err != nil {
					return fmt.Errorf("encode change item %d: %w", it.Position, err)
				}
				buf = fmt.Appendf(buf, "id: %d\ndata: %s\n\n", it.Position, data)
			}
			if err := write(buf); err != nil {
				return nil
			}
		case <-heartbeat.C:
			if err := write([]byte(": keep-alive\n\n")); err != nil {
				return nil
			}
		}
	}
}

func parsePosition(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, domain.Errorf(domain.EINVALID, "bad position")
	}
	return n, nil
}
