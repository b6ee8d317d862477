// Package bus publishes every stored event on a watermill event bus, for
// subscribers inside the process (webhooks, live streams, notifiers) and
// outside it (NATS subscribers).
//
// # Messages
//
// Each event becomes one message on the topic (NATS subject)
// "partyledger.changes.<event type>" ([Topic]), e.g.
// partyledger.changes.requirement.addressing_decided. The payload is a
// CloudEvents 1.0 event in structured JSON mode ([Change]): specversion,
// id (the event id), source, type (the event type), time, subject (the
// aggregate stream, "party-<uuid>"), datacontenttype and data, which is
// the whole stored envelope with its position and hashes. The watermill
// message UUID and the Nats-Msg-Id header are the event id.
//
// # Delivery
//
// A [Forwarder] follows the committed-change stream of handlers/pipeline
// (every event of the log, once its batch is applied) from a checkpoint kept
// in a local SQLite table ([Checkpoints], in the event log's file, not the
// disposable read model; on NATS in a bucket every replica shares,
// [KVCheckpoints], so that the replica holding the forwarder's lease after
// a takeover resumes where the last one stopped) and publishes each event after it is durably stored, in position order, saving the checkpoint after the
// publish. After a crash it resumes from the checkpoint, so nothing is lost
// between store and bus; what was published after the last save is
// published again. Delivery is therefore at-least-once and duplicates carry
// the same id: subscribers de-duplicate on it.
//
// With the SQLite store the bus is in-process ([InProcess], a watermill
// GoChannel): a publish returns once every in-process handler has
// acknowledged the message. With the NATS store the forwarder publishes to
// JetStream with watermill-nats ([NATS]), into a stream of its own
// (PARTYLEDGER_CHANGES); JetStream drops a duplicate with the same id
// inside the stream's duplicate window, which also collapses the copies
// that several replicas publish.
//
// # Handlers
//
// [Bus] runs in-process handlers ([NewHandler], cqrs event handlers with a
// stable name) on a watermill Router with poison-queue, retry and
// recoverer middleware: a failing handler is retried with backoff, and a
// message it still fails on is stored in the poison queue ([PoisonTable])
// and acknowledged. On NATS each handler reads a durable consumer named
// after it ([ConsumerName]), shared by the replicas: each change is handled
// by one of them.
package bus
