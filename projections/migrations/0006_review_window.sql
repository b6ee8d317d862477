-- reviews: the window a review considered, its 9.3.3 decisions, its status
-- (recorded | voided) and whether it was entered late; review_actions: its
-- actions; settings: the stored settings (organisation name, ...).
-- The reviews projection is wiped and rebuilt from the log.
DROP TABLE reviews;
CREATE TABLE reviews (
	id              TEXT PRIMARY KEY,
	position        INTEGER NOT NULL UNIQUE, -- of management_review.held
	version         INTEGER NOT NULL,        -- of the review's stream
	held_on         TEXT NOT NULL,
	title           TEXT NOT NULL,
	attendees       TEXT NOT NULL,           -- JSON array of strings
	notes           TEXT NOT NULL,
	considered_from INTEGER,                 -- NULL: recorded before windows were
	considered_to   INTEGER NOT NULL,        -- the held event's position when not recorded
	decisions       TEXT NOT NULL,           -- JSON array of strings
	status          TEXT NOT NULL,
	late            INTEGER NOT NULL,
	recorded_at     TEXT NOT NULL,
	recorded_by     TEXT NOT NULL,
	updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX reviews_latest ON reviews (held_on, position) WHERE status = 'recorded';

CREATE TABLE review_actions (
	id         TEXT PRIMARY KEY,
	review_id  TEXT NOT NULL,
	seq        INTEGER NOT NULL,  -- order inside its review
	position   INTEGER NOT NULL,  -- of the event that raised it
	title      TEXT NOT NULL,
	owner      TEXT NOT NULL,
	due_on     TEXT NOT NULL,
	status     TEXT NOT NULL,     -- open | done | cancelled
	evidence   TEXT NOT NULL,
	closed_at  TEXT,              -- time of the completion or cancellation
	closed_pos INTEGER,           -- its position
	closed_by  TEXT NOT NULL,
	reason     TEXT NOT NULL      -- of the completion or cancellation
) STRICT;
CREATE INDEX review_actions_review ON review_actions (review_id, seq);
CREATE INDEX review_actions_due ON review_actions (status, due_on);

CREATE TABLE settings (
	name       TEXT PRIMARY KEY,
	value      TEXT NOT NULL,
	position   INTEGER NOT NULL,
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL
) STRICT;

UPDATE checkpoints SET position = 0 WHERE name = 'reviews';
