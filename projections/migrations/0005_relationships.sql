-- relationships: the current state of every relationship between parties
-- (active and ended); the relationship map reads the active ones whose two
-- parties are active.
CREATE TABLE relationships (
	id             TEXT PRIMARY KEY,
	version        INTEGER NOT NULL, -- stream version of the relationship's last event
	position       INTEGER NOT NULL, -- position of relationship.established: creation order
	revised_at_position INTEGER,     -- position of the last relationship.revised, if any
	ended_at_position   INTEGER,     -- position of relationship.ended, if ended
	from_party_id  TEXT NOT NULL,
	to_party_id    TEXT NOT NULL,
	kind           TEXT NOT NULL,
	label          TEXT NOT NULL,
	description    TEXT NOT NULL,
	status         TEXT NOT NULL,    -- active | ended
	established_at TEXT NOT NULL,    -- eventstore.TimeFormat, UTC
	established_by TEXT NOT NULL,
	updated_at     TEXT NOT NULL
) STRICT;

CREATE INDEX relationships_from ON relationships (from_party_id, to_party_id, kind) WHERE status = 'active';
CREATE INDEX relationships_to ON relationships (to_party_id);

INSERT INTO checkpoints (name, position) VALUES ('relationships', 0) ON CONFLICT (name) DO NOTHING;
