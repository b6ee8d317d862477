// Package webhooks notifies other systems of changes to the register: signed
// webhooks (Standard Webhooks v1) to subscribed URLs, and a live feed of
// change items that the HTTP API serves as Server-Sent Events ([Feed.Watch]),
// both consumers of the one change pipeline (handlers/pipeline).
//
// # Subscriptions
//
// A [Subscription] is a URL, a [Filter] and a signing secret, kept by
// [Subscriptions] in tables of the event log's SQLite file (next to the API
// tokens) or, when the log is on NATS JetStream, in key-value buckets that
// every replica shares ([NewKVSubscriptions]); never in the read model:
// subscriptions are configuration and must survive a read-model rebuild.
//
// # Several replicas
//
// On the shared buckets every replica runs a [Dispatcher] whose workers run
// under leases ([Dispatcher.Leases], handlers/lease): each subscription is
// delivered by one live replica at a time and taken over when that replica
// dies. Changes of a subscription are compare-and-set on its key's
// revision, so positions never move backwards; [Subscriptions.Watch]
// makes changes made on other replicas restart the right workers.
//
// # Delivery
//
// Each subscription stores its own position in the event log: the last event
// it has handled (delivered, or skipped by its filter). The [Dispatcher] runs
// one goroutine per active subscription that follows the committed-change
// stream of handlers/pipeline from that position ([Feed.Follow]) and
// delivers the matching events one
// at a time, in log order, moving the stored position only after the receiver
// answered 2xx. A crash (even kill -9) between the commit of an event and its
// delivery therefore loses nothing: on restart the subscription resumes from
// its stored position and delivers the event then. Delivery is at least once;
// a repeated delivery carries the same webhook-id (the event id).
//
// A failing event blocks the later events of its subscription only. It is
// retried after [DefaultSchedule] (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h,
// each with ±10 % jitter); 429 and 503 answers may stretch a wait with
// Retry-After. The attempt count and the time of the next attempt are stored,
// so a restart does not reset the schedule. After the last retry fails, or
// when the receiver answers 410 Gone, the subscription is disabled and a row
// in webhook_subscription_events records why.
//
// The retries are hand-written rather than watermill's Retry and
// PoisonQueue middleware: the schedule's state is stored and survives a
// restart, Retry-After and 410 decide waits, and an exhausted event
// disables its subscription at that event instead of being set aside (see
// docs/webhooks.md).
//
// # SSRF protection
//
// A [Guard] refuses URLs that point at loopback, private, link-local,
// shared (CGNAT), unspecified, multicast, reserved or cloud-metadata
// addresses, in any spelling (IPv4-mapped IPv6, NAT64, decimal, octal or hex
// IPv4), both when a subscription is registered and again for the address
// actually dialled (which defeats DNS rebinding), unless an operator
// allowlist of CIDR prefixes permits the address.
package webhooks
