package httpapi

import (
	"context"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/partyledger/partyledger/handlers/auth"
)

// Limits are the API's protective limits. The zero value disables both
// rate limits; [DefaultLimits] is what serve uses.
type Limits struct {
	// PerToken is the sustained request rate allowed per token (requests per
	// second) and PerTokenBurst the burst. Zero disables.
	PerToken      rate.Limit
	PerTokenBurst int
	// FailedAuth is the rate of failed authentications allowed per client
	// address, and FailedAuthBurst its burst. Beyond it every request from
	// that address is refused with 429 until the bucket refills. Zero disables.
	FailedAuth      rate.Limit
	FailedAuthBurst int
}

// DefaultLimits: 100 requests/s per token (burst 200); 10 failed
// authentications per minute per client address (burst 10).
var DefaultLimits = Limits{PerToken: 100, PerTokenBurst: 200, FailedAuth: rate.Every(6 * time.Second), FailedAuthBurst: 10}

// AccessLog records denied requests for auditors (implemented by
// *auth.AccessLog).
type AccessLog interface {
	Record(ctx context.Context, e auth.AccessEntry) error
	Query(ctx context.Context, q auth.AccessQuery) ([]auth.AccessEntry, error)
}

// limiters is a set of token buckets by key, evicting idle ones so an
// attacker cycling addresses cannot grow it without bound.
type limiters struct {
	mu    sync.Mutex
	limit rate.Limit
	burst int
	m     map[string]*limiterEntry
	sweep time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

const (
	maxLimiters   = 100_000
	limiterIdle   = 15 * time.Minute
	sweepInterval = time.Minute
)

func newLimiters(limit rate.Limit, burst int) *limiters {
	if limit == 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &limiters{limit: limit, burst: burst, m: map[string]*limiterEntry{}}
}

func (l *limiters) get(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > sweepInterval || len(l.m) >= maxLimiters {
		for k, e := range l.m {
			if now.Sub(e.seen) > limiterIdle || len(l.m) >= maxLimiters {
				delete(l.m, k)
			}
		}
		l.sweep = now
	}
	e := l.m[key]
	if e == nil {
		e = &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.m[key] = e
	}
	e.seen = now
	return e.lim
}

// allow takes one token from key's bucket. When none is left it returns
// false and how long until one is.
func (l *limiters) allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := time.Now()
	lim := l.get(key, now)
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// exhausted reports, without taking a token, whether key's bucket is empty.
func (l *limiters) exhausted(key string) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	now := time.Now()
	lim := l.get(key, now)
	if lim.TokensAt(now) >= 1 {
		return false, 0
	}
	r := lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return true, d
}

// setRetryAfter sets Retry-After in whole seconds, at least 1.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(d.Seconds())))))
}

// clientAddr is the remote host of the request. partyledger does not trust
// X-Forwarded-For: put a proxy that rewrites RemoteAddr in front if needed.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
