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
// # Registering events
//
// Every event type is one row of the registry in events.go, built with
// [Def] from the event struct (its name comes from the struct's EventType
// method). A new aggregate registers its events from its own file, in one
// declaration:
//
//	var _ = RegisterEvents(Def[RelationshipDrawn](), Def[RelationshipRevised]())
//
// after which [Decode] knows them and they appear in [EventTypes] (so the
// projections fold them and webhook filters accept them). Bookkeeping
// events that are not register facts (the name reservations of
// [ReservationStream]) are registered with [InternalDef] instead. On the
// application side, an aggregate costs a method per command that fills in
// handlers/commands' generic command and calls its execute.
//
// # Uniqueness as data
//
// A party name is unique among active parties because each normalised name
// has a reservation stream ([ReservationStream]) whose [NameReservation]
// state says who holds it: the event that takes a name is appended in the
// same atomic append as a [NameClaimed] on that stream, at its expected
// version, and the event that frees it with a [NameReleased].
//
// This package imports only the standard library, and no I/O: a test enforces it.
package domain
