package auth

import (
	"sync"
	"time"
)

// authCacheTTL is how long a successful authentication is remembered. A
// revocation made by this process clears the cache at once; one made by
// another process (the token CLI) takes effect within this time.
const authCacheTTL = time.Second

// authCacheMax bounds the cache; it is emptied when full.
const authCacheMax = 4096

// authCache remembers successful authentications by secret hash, so that
// a client sending many requests costs one SQLite query a second rather
// than one a request. Failures are never cached. It is safe for
// concurrent use; the zero value is ready.
type authCache struct {
	mu sync.Mutex
	m  map[string]cachedToken
}

type cachedToken struct {
	tok   Token
	until time.Time
}

// get returns the token cached under hash if it is fresh and still active
// at now (an expiry passes on time).
func (c *authCache) get(hash string, now time.Time) (Token, bool) {
	c.mu.Lock()
	ct, ok := c.m[hash]
	c.mu.Unlock()
	if !ok || !now.Before(ct.until) || !ct.tok.Active(now) {
		return Token{}, false
	}
	return ct.tok, true
}

func (c *authCache) put(hash string, tok Token, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= authCacheMax {
		c.m = make(map[string]cachedToken)
	}
	c.m[hash] = cachedToken{tok: tok, until: now.Add(authCacheTTL)}
}

func (c *authCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
