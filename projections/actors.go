package projections

import (
	"context"
	"fmt"
)

// ActorUsed reports whether any event of the log (as far as the read model
// has applied it) was written by name, compared case-insensitively. A new
// API token may not take such a name: its events would be attributed to
// the same actor as someone else's.
func (m *ReadModel) ActorUsed(ctx context.Context, name string) (bool, error) {
	var n int
	err := m.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM audit_index WHERE actor = ? COLLATE NOCASE LIMIT 1)`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("projections: actor %s: %w", name, err)
	}
	return n > 0, nil
}
