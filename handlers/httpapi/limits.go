package httpapi

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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
	// address, and FailedAuthBurst its burst. Beyond it, requests from that
	// address that fail to authenticate get 429 instead of 401 until the
	// bucket refills; a valid token is never refused by it, so one
	// anonymous client behind a shared address (NAT, proxy) cannot lock
	// out the others. Zero disables.
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

// setRetryAfter sets Retry-After in whole seconds, at least 1.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(d.Seconds())))))
}

// clientAddr is the address the request came from: the connection's peer,
// or, when that peer is a trusted proxy (see [Server.TrustedProxies]), the
// nearest address in X-Forwarded-For (or, without it, Forwarded: for=)
// that is not itself a trusted proxy. Forwarding headers from anyone else
// are ignored: a client cannot choose the address it is limited by.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.TrustedProxies) == 0 || !s.trusted(host) {
		return host
	}
	hops := forwardedFor(r)
	for i := len(hops) - 1; i >= 0; i-- {
		if !s.trusted(hops[i]) {
			return hops[i]
		}
	}
	if len(hops) > 0 {
		return hops[0]
	}
	return host
}

func (s *Server) trusted(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedFor returns the client chain a proxy reports, nearest last:
// X-Forwarded-For if present, else the for= parameters of Forwarded (RFC
// 7239). Entries that are not IP addresses are dropped.
func forwardedFor(r *http.Request) []string {
	var out []string
	add := func(v string) {
		v = strings.Trim(strings.TrimSpace(v), `"`)
		if h, _, err := net.SplitHostPort(v); err == nil {
			v = h
		}
		v = strings.Trim(v, "[]")
		if ip, err := netip.ParseAddr(v); err == nil {
			out = append(out, ip.Unmap().String())
		}
	}
	if xs := r.Header.Values("X-Forwarded-For"); len(xs) > 0 {
		for _, x := range xs {
			for _, v := range strings.Split(x, ",") {
				add(v)
			}
		}
		return out
	}
	for _, f := range r.Header.Values("Forwarded") {
		for _, elem := range strings.Split(f, ",") {
			for _, pair := range strings.Split(elem, ";") {
				k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
				if ok && strings.EqualFold(k, "for") {
					add(v)
				}
			}
		}
	}
	return out
}

// ParseTrustedProxies parses CIDRs (or single addresses) of trusted proxies.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range list {
		for _, v := range strings.Split(item, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				continue
			}
			if !strings.Contains(v, "/") {
				ip, err := netip.ParseAddr(v)
				if err != nil {
					return nil, fmt.Errorf("trusted proxy %q: %w", v, err)
				}
				out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
				continue
			}
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: %w", v, err)
			}
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

// FailedAuth counts one failed authentication of r that happened outside
// the API (the console's sign-in form) against the same per-client budget
// the API's failed-authentication limit uses, and records it in the
// security log. It returns false, with the wait, once the client's budget
// is spent: the caller then answers 429 with Retry-After instead of its
// usual refusal. Call it only after a credential failed, never before
// checking one, so that a valid token is never refused; the client is
// found as for the API, honouring [Server.TrustedProxies]. It is safe for
// concurrent use, and allows everything before [Server.Handler] is built
// or when the limit is off.
func (s *Server) FailedAuth(r *http.Request) (ok bool, retryAfter time.Duration) {
	client := s.clientAddr(r)
	ok, wait := s.authLim.allow(client)
	if ok {
		s.recordDenial(r, client, "", "unauthenticated", http.StatusUnauthorized)
	} else {
		s.recordDenial(r, client, "", "auth_rate_limited", http.StatusTooManyRequests)
	}
	return ok, wait
}
