package projections

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// SettingsView is the stored settings as the read model holds them.
type SettingsView struct {
	OrgName   string     `json:"org_name"`
	Position  int64      `json:"position"` // of the last settings.changed; 0 if none
	UpdatedAt *time.Time `json:"updated_at"`
	UpdatedBy string     `json:"updated_by"`
}

// applySettings writes the changed settings (the reviews projection calls
// it: settings are few and rarely change).
func applySettings(ctx context.Context, tx *sql.Tx, ev *eventstore.Event, e domain.SettingsChanged) error {
	for name, c := range e.Changes {
		v, _ := c.To.(string)
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value, position, updated_at, updated_by)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value,
			position = excluded.position, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			name, v, ev.Position, formatTime(ev.Time), ev.Actor); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings_history (name, position, value) VALUES (?, ?, ?)
			ON CONFLICT (name, position) DO NOTHING`, name, ev.Position, v); err != nil {
			return err
		}
	}
	return nil
}

// OrgNameAsOf returns the organisation's name as it stood after position
// ("" when none was set by then): a report of a closed window names the
// organisation as it was called at the window's end, whatever it is called
// when the report is generated.
func (m *ReadModel) OrgNameAsOf(ctx context.Context, position int64) (string, error) {
	var name string
	err := m.db.QueryRowContext(ctx, `SELECT value FROM settings_history WHERE name = 'org_name' AND position <= ?
		ORDER BY position DESC LIMIT 1`, position).Scan(&name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("projections: organisation name as of %d: %w", position, err)
	}
	return name, nil
}

// Settings returns the stored settings; empty ones when none were set.
func (m *ReadModel) Settings(ctx context.Context) (SettingsView, error) {
	var v SettingsView
	var updated string
	err := m.db.QueryRowContext(ctx, `SELECT value, position, updated_at, updated_by FROM settings
		WHERE name = 'org_name'`).Scan(&v.OrgName, &v.Position, &updated, &v.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("projections: settings: %w", err)
	}
	t, err := parseTime(updated)
	if err != nil {
		return v, fmt.Errorf("projections: settings: %w", err)
	}
	v.UpdatedAt = &t
	return v, nil
}
