-- The change feed shows, beside each change, the date it took effect in the
-- world: the event's effective_on, '' when the event has none (it then
-- took effect on its recording date, which the reader derives from
-- event_time). Rows written before this column existed read as ''.
ALTER TABLE changes ADD COLUMN effective_on TEXT NOT NULL DEFAULT '';
