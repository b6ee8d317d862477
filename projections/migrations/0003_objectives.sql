-- objectives: information security objectives (clause 6.2), their KPIs and
-- every measurement, from the objective-<id> streams.
CREATE TABLE objectives (
	id          TEXT PRIMARY KEY,
	position    INTEGER NOT NULL, -- of objective.set: list order
	version     INTEGER NOT NULL, -- stream version, the ETag
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	owner       TEXT NOT NULL,
	due         TEXT NOT NULL,    -- YYYY-MM-DD
	status      TEXT NOT NULL,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;

CREATE INDEX objectives_position ON objectives (position);

-- The requirements an objective addresses, in the objective's order.
CREATE TABLE objective_requirements (
	objective_id   TEXT NOT NULL,
	requirement_id TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	PRIMARY KEY (objective_id, requirement_id)
) STRICT;

CREATE INDEX objective_requirements_requirement ON objective_requirements (requirement_id);

CREATE TABLE kpis (
	id           TEXT PRIMARY KEY,
	objective_id TEXT NOT NULL,
	position     INTEGER NOT NULL, -- of kpi.defined: order within the objective
	name         TEXT NOT NULL,
	unit         TEXT NOT NULL,
	operator     TEXT NOT NULL,
	target       REAL NOT NULL,
	frequency    TEXT NOT NULL,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
) STRICT;

CREATE INDEX kpis_objective ON kpis (objective_id, position);

-- Every measurement, corrections included. slot is the original
-- measurement a chain of corrections replaces; superseded = 1 once a later
-- measurement of the same slot was recorded, so the effective values are
-- the rows with superseded = 0.
CREATE TABLE kpi_measurements (
	id           TEXT PRIMARY KEY,
	kpi_id       TEXT NOT NULL,
	objective_id TEXT NOT NULL,
	position     INTEGER NOT NULL UNIQUE,
	slot         TEXT NOT NULL,
	value        REAL NOT NULL,
	measured_at  TEXT NOT NULL,    -- RFC 3339, UTC
	corrects     TEXT,
	superseded   INTEGER NOT NULL,
	recorded_at  TEXT NOT NULL,
	recorded_by  TEXT NOT NULL
) STRICT;

CREATE INDEX kpi_measurements_effective ON kpi_measurements (kpi_id, superseded, measured_at, position);
CREATE INDEX kpi_measurements_slot ON kpi_measurements (slot, position);

-- requirement_reviews: one row per requirement.reviewed.
CREATE TABLE requirement_reviews (
	position        INTEGER PRIMARY KEY,
	event_id        TEXT NOT NULL,
	party_id        TEXT NOT NULL,
	requirement_id  TEXT NOT NULL,
	outcome         TEXT NOT NULL,
	notes           TEXT NOT NULL,
	next_review_due TEXT,
	reviewed_at     TEXT NOT NULL,
	reviewed_by     TEXT NOT NULL,
	reason          TEXT NOT NULL,
	review_trigger  TEXT NOT NULL
) STRICT;

CREATE INDEX requirement_reviews_requirement ON requirement_reviews (requirement_id, position);

-- communications: the communication plan of every party (clause 7.4) and
-- the log of communications sent.
CREATE TABLE communication_plan (
	id           TEXT PRIMARY KEY,
	party_id     TEXT NOT NULL,
	position     INTEGER NOT NULL,
	topic        TEXT NOT NULL,
	"when"       TEXT NOT NULL,
	frequency    TEXT NOT NULL,     -- '' for entries triggered by events
	channel      TEXT NOT NULL,
	communicator TEXT NOT NULL,
	priority     TEXT NOT NULL,
	planned_at   TEXT NOT NULL,
	planned_by   TEXT NOT NULL
) STRICT;

CREATE INDEX communication_plan_party ON communication_plan (party_id, position);

CREATE TABLE communications (
	id            TEXT PRIMARY KEY,
	position      INTEGER NOT NULL UNIQUE,
	party_id      TEXT NOT NULL,
	plan_entry_id TEXT,
	channel       TEXT NOT NULL,
	sent_by       TEXT NOT NULL,
	summary       TEXT NOT NULL,
	evidence_ref  TEXT NOT NULL,
	sent_at       TEXT NOT NULL,    -- RFC 3339, UTC
	recorded_at   TEXT NOT NULL,
	recorded_by   TEXT NOT NULL
) STRICT;

CREATE INDEX communications_party ON communications (party_id, sent_at, position);
CREATE INDEX communications_plan ON communications (plan_entry_id, sent_at);

-- changes: objective items name their objective (and KPI) as JSON; the feed
-- keeps the names it shows, as it does for parties.
ALTER TABLE changes ADD COLUMN objective TEXT;

CREATE TABLE change_objectives (
	id    TEXT PRIMARY KEY,
	title TEXT NOT NULL
) STRICT;

CREATE TABLE change_kpis (
	id           TEXT PRIMARY KEY,
	objective_id TEXT NOT NULL,
	name         TEXT NOT NULL,
	unit         TEXT NOT NULL,
	operator     TEXT NOT NULL,
	target       REAL NOT NULL
) STRICT;

INSERT INTO checkpoints (name, position) VALUES ('objectives', 0), ('requirement_reviews', 0),
	('communications', 0) ON CONFLICT (name) DO NOTHING;
