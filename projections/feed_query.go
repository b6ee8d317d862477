package projections

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Changes returns the detailed change feed inside w: one item per party or
// requirement event, ordered by position. For the changes since a management
// review, pass After: review.Position.
func (m *ReadModel) Changes(ctx context.Context, w Window) ([]ChangeItem, error) {
	var out []ChangeItem
	err := m.EachChange(ctx, w, func(it ChangeItem) error {
		out = append(out, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// changeRows queries the columns cols (changeCols, or netKeyCols) inside w, ordered by
// position; nil rows (and no error) when the window is empty.
func (m *ReadModel) changeRows(ctx context.Context, w Window, cols string) (*sql.Rows, error) {
	if w.Until < 0 {
		return nil, nil
	}
	from := "changes"
	conds := []string{"position > ?"}
	args := []any{w.After}
	if w.Until > 0 {
		conds, args = append(conds, "position <= ?"), append(args, w.Until)
	}
	if timed := !w.FromTime.IsZero() || !w.UntilTime.IsZero(); timed {
		byTime, empty, err := m.timeIndexNarrower(ctx, w)
		if err != nil {
			return nil, fmt.Errorf("projections: changes: %w", err)
		}
		if empty {
			return nil, nil
		}
		col := "+event_time" // the unary + keeps SQLite off changes_time
		if byTime {
			col, from = "event_time", `changes INDEXED BY changes_time`
		}
		if !w.FromTime.IsZero() {
			conds, args = append(conds, col+" >= ?"), append(args, formatTime(w.FromTime))
		}
		if !w.UntilTime.IsZero() {
			conds, args = append(conds, col+" <= ?"), append(args, formatTime(w.UntilTime))
		}
	}
	q := `SELECT ` + cols + ` FROM ` + from + ` WHERE ` + strings.Join(conds, " AND ") + ` ORDER BY position`
	if w.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, w.Limit)
	}
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("projections: changes: %w", err)
	}
	return rows, nil
}

// timeIndexNarrower decides how to read a window with a time bound: through
// changes_time (then sort by position) or along positions (filtering on
// time). Without statistics SQLite tends to walk positions from After, which
// reads the whole feed for "since <time>". Event times follow positions
// closely, so the first and last positions in time order inside the time
// bounds measure the time window's span of positions well enough to pick the
// narrower path; the result does not depend on the choice. empty reports
// that no item lies inside the time bounds.
func (m *ReadModel) timeIndexNarrower(ctx context.Context, w Window) (byTime, empty bool, err error) {
	from, until := "", "~" // below and above every formatted time
	if !w.FromTime.IsZero() {
		from = formatTime(w.FromTime)
	}
	if !w.UntilTime.IsZero() {
		until = formatTime(w.UntilTime)
	}
	var first, last, maxPos sql.NullInt64
	err = m.db.QueryRowContext(ctx, `SELECT
		(SELECT position FROM changes INDEXED BY changes_time
			WHERE event_time >= ?1 AND event_time <= ?2 ORDER BY event_time LIMIT 1),
		(SELECT position FROM changes INDEXED BY changes_time
			WHERE event_time >= ?1 AND event_time <= ?2 ORDER BY event_time DESC LIMIT 1),
		(SELECT MAX(position) FROM changes)`, from, until).Scan(&first, &last, &maxPos)
	if err != nil {
		return false, false, err
	}
	if !first.Valid {
		return false, true, nil
	}
	timeSpan := max(first.Int64, last.Int64) - min(first.Int64, last.Int64) + 1
	hi := maxPos.Int64
	if w.Until > 0 {
		hi = min(hi, w.Until)
	}
	return 2*timeSpan < hi-w.After, false, nil
}
