-- Read models of partyledger. Every table here is a function of the event
-- log: it can be dropped and rebuilt from position 0 at any time.

-- One row per projection: the position of the last event it has applied,
-- updated in the same transaction as the projection's rows.
CREATE TABLE checkpoints (
	name     TEXT PRIMARY KEY,
	position INTEGER NOT NULL
) STRICT;

INSERT INTO checkpoints (name, position) VALUES ('register', 0), ('reviews', 0), ('changes', 0);

-- register: the current state of every party (active and retired).
CREATE TABLE parties (
	id          TEXT PRIMARY KEY,
	version     INTEGER NOT NULL, -- stream version of the party's last event
	name        TEXT NOT NULL,
	name_key    TEXT NOT NULL,    -- domain.NormalizeName(name): sort and lookup key
	category    TEXT NOT NULL,
	scope       TEXT NOT NULL,
	description TEXT NOT NULL,
	owner       TEXT NOT NULL,
	influence   INTEGER NOT NULL,
	interest    INTEGER NOT NULL,
	parent_id   TEXT,
	status      TEXT NOT NULL,
	created_at  TEXT NOT NULL,    -- eventstore.TimeFormat, UTC
	updated_at  TEXT NOT NULL
) STRICT;

-- Serves the status filter with name order and ActivePartyByName.
CREATE INDEX parties_status_name ON parties (status, name_key);

-- register: every requirement and expectation of every party.
CREATE TABLE requirements (
	id          TEXT PRIMARY KEY,
	party_id    TEXT NOT NULL,
	seq         INTEGER NOT NULL, -- position of requirement.identified: identification order
	kind        TEXT NOT NULL,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	source_type TEXT NOT NULL,
	source_ref  TEXT NOT NULL,
	owner       TEXT NOT NULL,
	priority    TEXT NOT NULL,
	review_due  TEXT,
	addressed   INTEGER,          -- NULL: not yet decided
	rationale   TEXT NOT NULL,
	treatment   TEXT NOT NULL,
	controls    TEXT NOT NULL,    -- JSON array of strings
	status      TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX requirements_party ON requirements (party_id, seq);

-- reviews: one row per management_review.held.
CREATE TABLE reviews (
	id          TEXT PRIMARY KEY,
	position    INTEGER NOT NULL UNIQUE,
	held_on     TEXT NOT NULL,
	title       TEXT NOT NULL,
	attendees   TEXT NOT NULL,    -- JSON array of strings
	notes       TEXT NOT NULL,
	recorded_at TEXT NOT NULL,
	recorded_by TEXT NOT NULL
) STRICT;

-- changes: the detailed change feed, one row per party or requirement event.
CREATE TABLE changes (
	position          INTEGER PRIMARY KEY,
	event_id          TEXT NOT NULL,
	event_type        TEXT NOT NULL,
	event_time        TEXT NOT NULL,
	actor             TEXT NOT NULL,
	reason            TEXT NOT NULL,
	event_trigger     TEXT NOT NULL,
	party_id          TEXT NOT NULL,
	party_name        TEXT NOT NULL,
	party_scope       TEXT NOT NULL,
	party_category    TEXT NOT NULL,
	requirement_id    TEXT,         -- NULL for party events
	requirement_title TEXT,
	requirement_kind  TEXT,
	change_kind       TEXT NOT NULL,
	changes           TEXT NOT NULL -- JSON array of {field, from, to}
) STRICT;

CREATE INDEX changes_time ON changes (event_time);

-- changes: the names the feed shows, kept by the feed projection itself so
-- that it does not depend on the register's checkpoint.
CREATE TABLE change_parties (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL,
	scope    TEXT NOT NULL,
	category TEXT NOT NULL
) STRICT;

CREATE TABLE change_requirements (
	id       TEXT PRIMARY KEY,
	party_id TEXT NOT NULL,
	title    TEXT NOT NULL,
	kind     TEXT NOT NULL
) STRICT;
