package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// Live stream limits.
const (
	// MaxStreamsPerToken bounds the live streams one API token holds open,
	// so that one client cannot take every slot of the server.
	MaxStreamsPerToken = 8
	// streamRecheck is how often an open stream re-checks its token: a
	// revoked or expired token loses its stream within this time (well
	// inside a heartbeat).
	streamRecheck = 5 * time.Second
	// streamRetryAfter is the Retry-After of a refused stream.
	streamRetryAfter = 5 * time.Second
)

// codeStreamsFull is the code of a server whose stream slots are all taken
// (503 with Retry-After, not "store unavailable").
const codeStreamsFull = "streams_full"

// streamSlots counts the open streams per token. It is safe for
// concurrent use; the zero value is ready.
type streamSlots struct {
	mu   sync.Mutex
	open map[string]int
}

// acquire takes a slot for token name, or reports false when it holds
// MaxStreamsPerToken already.
func (l *streamSlots) acquire(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string]int{}
	}
	if l.open[name] >= MaxStreamsPerToken {
		return false
	}
	l.open[name]++
	return true
}

func (l *streamSlots) release(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[name]--; l.open[name] <= 0 {
		delete(l.open, name)
	}
}

// openStream admits a live stream for the request's token: at most
// [MaxStreamsPerToken] per token (else 429 with Retry-After, recorded in
// the security log). It returns the request with a context that ends when
// the token no longer authenticates (revoked or expired), re-checked every
// streamRecheck, and done, which gives the slot back; call it when the
// stream ends.
func (s *Server) openStream(w http.ResponseWriter, r *http.Request) (*http.Request, func(), error) {
	tok := tokenFrom(r.Context())
	if !s.streams.acquire(tok.Name) {
		setRetryAfter(w, streamRetryAfter)
		s.recordDenial(r, s.clientAddr(r), tok.Name, "stream_limited", http.StatusTooManyRequests)
		return nil, nil, problemf(codeRateLimited, "this token already holds the most live streams allowed; close one or retry later")
	}
	_, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	ctx, cancel := context.WithCancel(r.Context())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(streamRecheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := s.Tokens.Authenticate(ctx, secret); errors.Is(err, auth.ErrUnauthenticated) {
					s.logger().Info("live stream closed: its token no longer authenticates", "actor", tok.Name)
					cancel()
					return
				}
			}
		}
	}()
	done := func() {
		cancel()
		<-stopped
		s.streams.release(tok.Name)
	}
	return r.WithContext(ctx), done, nil
}

// streamWatchError answers a failed Watch: a server whose stream slots are
// all taken is a 503 that says so, with Retry-After.
func streamWatchError(w http.ResponseWriter, err error) error {
	if errors.Is(err, webhooks.ErrBusy) {
		setRetryAfter(w, streamRetryAfter)
		return problemf(codeStreamsFull, "every live stream slot of this server is taken; retry later")
	}
	return err
}
