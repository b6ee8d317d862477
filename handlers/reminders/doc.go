// Package reminders chases owners: it keeps the e-mail addresses of owner
// roles as events in the log, works out what is due per owner, sends each
// owner one digest a day over SMTP and records every digest in the log.
//
// # Evidence and "each job once"
//
// A digest belongs to an (owner, window) pair, where the window is the local
// date of the run. Before sending, the [Runner] appends reminder.claimed as
// the first event of the stream [domain.ReminderStream] with the expected
// version "no stream". The event store lets exactly one append win, in any
// process or replica, on SQLite and on JetStream alike; the others see a
// conflict and skip the owner. The outcome is appended to the same stream:
// reminder.sent (recipients, items by id, the SMTP Message-ID) or, after the
// retries, reminder.failed. A failed window may be claimed again by a later
// run (expected version: the failed event's); a sent or merely claimed one
// never is, so a crash between claim and send loses at most that digest
// rather than sending it twice.
//
// # Sources
//
// What is due comes from the read model through the narrow [Sources]
// interface, and open management-review actions through [Actions], which
// the review lifecycle implements.
package reminders
