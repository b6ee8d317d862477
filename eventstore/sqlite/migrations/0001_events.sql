-- The event log. position is the rowid, assigned explicitly by the single
-- writer as head+1, so positions are gap-free; events are never updated or
-- deleted.
CREATE TABLE events (
	position       INTEGER PRIMARY KEY CHECK (position >= 1),
	id             TEXT    NOT NULL UNIQUE,
	stream         TEXT    NOT NULL CHECK (stream <> ''),
	version        INTEGER NOT NULL CHECK (version >= 1),
	type           TEXT    NOT NULL,
	schema         INTEGER NOT NULL,
	time           TEXT    NOT NULL, -- eventstore.TimeFormat, fixed width, UTC
	actor          TEXT    NOT NULL,
	reason         TEXT    NOT NULL,
	"trigger"      TEXT    NOT NULL,
	correlation_id TEXT    NOT NULL,
	causation_id   TEXT    NOT NULL,
	data           TEXT    NOT NULL, -- the exact JSON bytes that were hashed
	prev_hash      TEXT    NOT NULL,
	hash           TEXT    NOT NULL,
	UNIQUE (stream, version)
);

-- Audit trail queries: by type, actor or trigger paged by position, and by
-- time range.
CREATE INDEX events_type_position    ON events (type, position);
CREATE INDEX events_actor_position   ON events (actor, position);
CREATE INDEX events_trigger_position ON events ("trigger", position);
CREATE INDEX events_time             ON events (time);

-- Append-only, also against ad-hoc SQL.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: UPDATE refused');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
END;
