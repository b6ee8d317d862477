-- review_history: every state a management review has been in, one row per
-- event of its stream (held, corrected, voided), so that a report of a
-- closed window shows the review as it stood at the window's end, never a
-- correction recorded later; and the event itself (type, time, actor,
-- reason, changes), so that the report of the window that contains a
-- correction lists it. settings_history: every value a setting has
-- had, by position, for the organisation's name as of a window's end.
-- The reviews projection (which also keeps the settings) is wiped and
-- rebuilt from the log.
CREATE TABLE review_history (
	id              TEXT NOT NULL,
	position        INTEGER NOT NULL, -- of the event that left the review so
	version         INTEGER NOT NULL,
	held_on         TEXT NOT NULL,
	title           TEXT NOT NULL,
	attendees       TEXT NOT NULL,
	notes           TEXT NOT NULL,
	considered_from INTEGER,
	considered_to   INTEGER NOT NULL,
	decisions       TEXT NOT NULL,
	status          TEXT NOT NULL,
	updated_at      TEXT NOT NULL,
	event_type      TEXT NOT NULL,
	event_time      TEXT NOT NULL,
	actor           TEXT NOT NULL,
	reason          TEXT NOT NULL,
	changes         TEXT NOT NULL,    -- JSON {field: {from, to}}; {} for held
	PRIMARY KEY (id, position)
) STRICT;

CREATE INDEX review_history_position ON review_history (position);

CREATE TABLE settings_history (
	name     TEXT NOT NULL,
	position INTEGER NOT NULL,
	value    TEXT NOT NULL,
	PRIMARY KEY (name, position)
) STRICT;

DELETE FROM reviews;
DELETE FROM review_actions;
DELETE FROM settings;
UPDATE checkpoints SET position = 0 WHERE name = 'reviews';
