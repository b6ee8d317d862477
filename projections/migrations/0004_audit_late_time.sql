-- audit: the late index carries the time too, so that the events stamped
-- out of order after a position range are checked against a time bound
-- without reading their rows (a 1M-event log has thousands of them).
DROP INDEX audit_late;
CREATE INDEX audit_late ON audit_index (position, time) WHERE late = 1;
