package console

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// livePoll is how often the live stream looks at the read model.
var livePoll = 2 * time.Second

// liveMax bounds one live stream; the browser reconnects after it.
var liveMax = 10 * time.Minute

// handleLive streams the read model's position as server-sent events
// ("event: head"), so an open page can say "N new changes". It reads only
// the read model's checkpoint: console tabs do not use the API's per-token
// stream budget.
func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) error {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	last := int64(-1)
	tick := time.NewTicker(livePoll)
	defer tick.Stop()
	end := time.After(liveMax)
	_ = rc.SetWriteDeadline(time.Now().Add(liveMax + time.Minute))
	for {
		head, err := s.Reads.Checkpoint(r.Context())
		if err != nil {
			return nil
		}
		if head != last {
			last = head
			if _, err := fmt.Fprintf(w, "event: head\ndata: %s\n\n", strconv.FormatInt(head, 10)); err != nil {
				return nil
			}
			if err := rc.Flush(); err != nil {
				return nil
			}
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-end:
			return nil
		case <-tick.C:
		}
	}
}
