// Package jetstream implements [eventstore.Store] on NATS JetStream: the
// scale-out backend of partyledger, shared by several serve replicas.
//
// # Layout
//
// One JetStream stream (default PARTYLEDGER, file storage, deletes and
// purges denied, no limits, atomic batch publish and direct gets allowed)
// holds every event. Each aggregate stream has a subject of its own:
// "partyledger.events.<stream with its first '-' as '.'>", e.g.
// partyledger.events.party.0193f2c4-… for the stream party-0193f2c4-….
// A message's body is the event envelope as JSON without its position; its
// headers are Nats-Msg-Id (the event id) and Partyledger-Version (the
// event's version in its stream). The JetStream sequence of the message is
// the event's Position.
//
// # Positions
//
// Positions are JetStream sequences: strictly increasing across the whole
// store. They are gap-free as long as no message is removed from the stream
// (which the stream's deny-delete and deny-purge settings prevent) and no
// other client publishes to its subjects (restrict publish permissions on
// partyledger.events.> to the service). Readers must not assume gap-free
// positions: a removed message leaves a hole.
//
// # Concurrency
//
// An append reads the last message of its subject and publishes on top of
// it with the expected-last-subject-sequence header: JetStream refuses the
// publish when another append got there first (error 10071, or 10164 on a
// replicated stream), which [Store.Append] reports as a
// [*eventstore.ConflictError] when the stream's version is no longer the
// expected one. A multi-event append is one atomic batch (ADR-50): all its
// events are stored, under consecutive positions, or none. No lock is held
// anywhere, so appends to different streams never wait for each other,
// across processes too.
//
// # Hash chain
//
// A global chain (each event linked to the one before it in position order)
// would need the global position before publishing, that is a global lock.
// This store chains each aggregate stream instead: PrevHash is the Hash of
// the previous event of the same stream ("" for its first), and Hash is
// [ComputeHash], the canonical hash of the event with Position 0 (the
// position is assigned by the server after the hash is made). [Rules] are
// these rules for package verify, which serve's verify and signed
// checkpoints follow ([Store.VerifyRules]). The order of events across
// streams is not covered by the chain; a signed checkpoint (position and
// hash of the head) pins the log's length, and the stream denies deletes
// and purges.
//
// # Durability
//
// [Open] checks the stream and the servers against a [Profile]:
// [ProfileDurable] needs file storage and servers that fsync every write
// (jetstream { sync_interval: always }, verified by a [SyncCheck]);
// [ProfileHA] also needs at least 3 replicas. It refuses to start when they
// do not match, saying what differs.
package jetstream
