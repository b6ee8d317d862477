// Package domain is the pure heart of partyledger: the interested parties of
// ISO/IEC 27001:2022 clause 4.2, their requirements and expectations, and the
// management reviews of clause 9.3, expressed as commands, events and
// decisions.
//
// # Decisions
//
// A decision takes the current state of an aggregate (folded from its stream),
// a command and the time, and returns the events to append or an [*Error].
// Decisions never read the clock, the network or a database: whatever they
// need from outside (for example whether a party name is already taken) is
// passed in through a small interface such as [Directory].
//
// # Events
//
// Every event type has a stable name ([EventPartyIdentified], ...) that is
// stored with the event and never derived from a Go type name. [Decode] turns a
// stored (type, schema, data) triple back into its struct; old schemas are
// upcast there.
//
// This package imports only the standard library, and no I/O: a test enforces it.
package domain
