package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// PoisonTopic is the topic the router's poison-queue middleware publishes
// to.
const PoisonTopic = "partyledger.poison"

// HandlerFunc handles one change. It must be safe for concurrent use and
// idempotent: delivery is at-least-once, and a change may arrive twice
// with the same ID.
type HandlerFunc func(ctx context.Context, c *Change) error

// NewHandler returns a cqrs event handler for changes. name must be stable:
// it names the handler's subscription (on NATS, its durable consumer), so
// renaming a handler makes it consume every change again.
func NewHandler(name string, fn HandlerFunc) cqrs.EventHandler {
	return cqrs.NewEventHandler(name, func(ctx context.Context, c *Change) error { return fn(ctx, c) })
}

// SubscriberFunc returns the subscriber one handler reads from, given the
// handler's name. In-process it is the shared GoChannel; on NATS, a
// durable consumer named after the handler.
type SubscriberFunc func(handlerName string) (message.Subscriber, error)

// Config configures [New].
type Config struct {
	// Subscriber gives each handler its subscriber. Required.
	Subscriber SubscriberFunc
	// Poison receives messages that a handler still fails on after the
	// retries (on [PoisonTopic]). Required.
	Poison message.Publisher
	// Logger receives the router's logs (watermill Info is logged at
	// Debug). Nil discards.
	Logger *slog.Logger
	// Retry is the retry middleware; the zero value means 5 retries from
	// 100 ms, doubling up to 5 s, at most 1 minute in all.
	Retry middleware.Retry
}

// Bus runs in-process subscribers of the change bus: a watermill Router
// with, from the outside in, a poison-queue, a retry and a recoverer
// middleware, and a cqrs event processor that feeds each handler the
// [Change] it decodes. A handler's error is retried; after the last retry
// the message goes to the poison queue and is acknowledged, so one bad
// change does not stop the others. A panic in a handler is an error.
type Bus struct {
	router    *message.Router
	processor *cqrs.EventProcessor
	logger    *slog.Logger
}

// New returns a bus with no handlers; add them with [Bus.AddHandler] and
// start it with [Bus.Run].
func New(cfg Config) (*Bus, error) {
	if cfg.Subscriber == nil || cfg.Poison == nil {
		return nil, errors.New("bus: config needs Subscriber and Poison")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	wlog := WatermillLogger(logger)
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, wlog)
	if err != nil {
		return nil, fmt.Errorf("bus: router: %w", err)
	}
	poison, err := middleware.PoisonQueue(cfg.Poison, PoisonTopic)
	if err != nil {
		return nil, fmt.Errorf("bus: poison queue: %w", err)
	}
	retry := cfg.Retry
	if retry.MaxRetries == 0 {
		retry = middleware.Retry{MaxRetries: 5, InitialInterval: 100 * time.Millisecond,
			MaxInterval: 5 * time.Second, Multiplier: 2, MaxElapsedTime: time.Minute, RandomizationFactor: 0.2}
	}
	if retry.Logger == nil {
		retry.Logger = wlog
	}
	retry.ResetContextOnRetry = true
	router.AddMiddleware(poison, retry.Middleware, middleware.Recoverer)

	processor, err := cqrs.NewEventProcessorWithConfig(router, cqrs.EventProcessorConfig{
		GenerateSubscribeTopic: func(cqrs.EventProcessorGenerateSubscribeTopicParams) (string, error) {
			return AllTopic, nil
		},
		SubscriberConstructor: func(p cqrs.EventProcessorSubscriberConstructorParams) (message.Subscriber, error) {
			return cfg.Subscriber(p.HandlerName)
		},
		Marshaler: Marshaler{},
		Logger:    wlog,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: event processor: %w", err)
	}
	return &Bus{router: router, processor: processor, logger: logger}, nil
}

// AddHandler adds a handler (see [NewHandler]). Handlers added after Run
// start at once.
func (b *Bus) AddHandler(h cqrs.EventHandler) error {
	if _, err := b.processor.AddHandler(h); err != nil {
		return fmt.Errorf("bus: add handler %s: %w", h.HandlerName(), err)
	}
	if b.router.IsRunning() {
		if err := b.router.RunHandlers(context.Background()); err != nil {
			return fmt.Errorf("bus: start handler %s: %w", h.HandlerName(), err)
		}
	}
	return nil
}

// Run runs the handlers until ctx is done or [Bus.Close].
func (b *Bus) Run(ctx context.Context) error { return b.router.Run(ctx) }

// Running is closed once every handler added before Run is subscribed.
func (b *Bus) Running() <-chan struct{} { return b.router.Running() }

// Close stops the handlers, waiting up to 15 s for those in flight.
func (b *Bus) Close() error { return b.router.Close() }

// InProcess is the bus of a single process (the SQLite store): a watermill
// GoChannel. Publish returns only when every in-process subscriber has
// acknowledged the message (handled it, or put it in the poison queue),
// so the [Forwarder]'s checkpoint never runs ahead of the handlers. Each
// message is published on its per-type topic and on [AllTopic], which the
// handlers subscribe to (GoChannel has no wildcards).
type InProcess struct {
	ch *gochannel.GoChannel
}

// NewInProcess returns a new in-process bus.
func NewInProcess(logger *slog.Logger) *InProcess {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &InProcess{ch: gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, WatermillLogger(logger))}
}

// Publish implements [message.Publisher].
func (p *InProcess) Publish(topic string, msgs ...*message.Message) error {
	if err := p.ch.Publish(topic, msgs...); err != nil {
		return err
	}
	if topic == AllTopic || topic == PoisonTopic {
		return nil
	}
	return p.ch.Publish(AllTopic, msgs...)
}

// Subscribe implements [message.Subscriber]: every subscriber gets every
// message of topic.
func (p *InProcess) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return p.ch.Subscribe(ctx, topic)
}

// Subscriber is the [SubscriberFunc] of the in-process bus: every handler
// reads the GoChannel.
func (p *InProcess) Subscriber(string) (message.Subscriber, error) { return nopCloseSubscriber{p}, nil }

// Close closes the GoChannel.
func (p *InProcess) Close() error { return p.ch.Close() }

// nopCloseSubscriber keeps the router from closing the shared GoChannel
// when one handler stops.
type nopCloseSubscriber struct{ message.Subscriber }

func (nopCloseSubscriber) Close() error { return nil }

// WatermillLogger adapts logger for watermill, logging watermill's Info
// (per-message chatter) at Debug.
func WatermillLogger(logger *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}
