package domain

import "strings"

// Token event types: an API token's name is the actor recorded on every
// event it writes, so who made a token, with which role, and who revoked
// it are auditor-readable facts of the log. The secret is never in them.
const (
	EventTokenCreated = "token.created"
	EventTokenRevoked = "token.revoked"
)

// TokenCreated records that an admin created an API token.
type TokenCreated struct {
	Name      string  `json:"name"`
	Role      string  `json:"role"`
	ExpiresAt *string `json:"expires_at"` // RFC 3339, or null for no expiry
}

// TokenRevoked records that an admin revoked an API token. PausedSubscriptions
// are the webhook subscriptions the token had created, paused with it.
type TokenRevoked struct {
	Name                string   `json:"name"`
	PausedSubscriptions []string `json:"paused_subscriptions"`
}

func (TokenCreated) EventType() string { return EventTokenCreated }
func (TokenRevoked) EventType() string { return EventTokenRevoked }

// The token events, registered in the one event registry.
var _ = RegisterEvents(Def[TokenCreated](), Def[TokenRevoked]())

// TokenStream is the stream of a token's events. Its key is the name case
// folded, so that appending a new token's first event with "no stream"
// expected makes token names unique case-insensitively, in the log itself.
func TokenStream(name string) string { return "token-" + strings.ToLower(name) }
