-- The date a change took effect in the world (YYYY-MM-DD), when the
-- command gave one; '' reads as the recording date. Events recorded before
-- this column existed get ''. It is covered by the hash (encoding v2).
ALTER TABLE events ADD COLUMN effective_on TEXT NOT NULL DEFAULT '';
