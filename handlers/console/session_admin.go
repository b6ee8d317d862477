package console

import (
	"context"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/httpapi"
)

// SessionAdmin lets an administrator see and end console sessions through
// the API (GET/DELETE /api/v1/sessions); it implements
// [httpapi.ConsoleSessions] over a [Sessions] store.
type SessionAdmin struct {
	Sessions Sessions
}

var _ httpapi.ConsoleSessions = SessionAdmin{}

func info(s Session) httpapi.SessionInfo {
	return httpapi.SessionInfo{ID: s.ID, Actor: s.Actor, Role: s.Role, Method: s.Method,
		CreatedAt: s.CreatedAt, LastSeen: s.LastSeen}
}

// ListSessions implements [httpapi.ConsoleSessions].
func (a SessionAdmin) ListSessions(ctx context.Context) ([]httpapi.SessionInfo, error) {
	all, err := a.Sessions.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]httpapi.SessionInfo, 0, len(all))
	for _, s := range all {
		out = append(out, info(s))
	}
	slices.SortFunc(out, func(x, y httpapi.SessionInfo) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(x.ID, y.ID)
	})
	return out, nil
}

// EndSession implements [httpapi.ConsoleSessions].
func (a SessionAdmin) EndSession(ctx context.Context, id string) (httpapi.SessionInfo, error) {
	all, err := a.Sessions.List(ctx)
	if err != nil {
		return httpapi.SessionInfo{}, err
	}
	for key, s := range all {
		if id != "" && s.ID == id {
			if err := a.Sessions.Delete(ctx, key); err != nil {
				return httpapi.SessionInfo{}, err
			}
			return info(s), nil
		}
	}
	return httpapi.SessionInfo{}, domain.Errorf(domain.ENOTFOUND, "no console session %s", id)
}
