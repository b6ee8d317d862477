package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmjs "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults for [NATSOptions].
const (
	DefaultChangesStream = "PARTYLEDGER_CHANGES"
	DefaultChangesMaxAge = 7 * 24 * time.Hour
	// DefaultChangesDuplicates is the de-duplication window of the changes
	// stream: the copies of one change that several replicas (or a
	// restarted forwarder) publish inside it are stored once.
	DefaultChangesDuplicates = 10 * time.Minute
)

// NATSOptions configures [NewNATS].
type NATSOptions struct {
	// Stream is the JetStream stream that keeps the changes for
	// subscribers. Empty means [DefaultChangesStream].
	Stream string
	// Replicas is its replication factor when NewNATS creates it. Zero
	// means 1.
	Replicas int
	// MaxAge is how long changes stay in the stream when NewNATS creates
	// it. Zero means [DefaultChangesMaxAge]. (The event log itself keeps
	// everything; this stream is only the bus.)
	MaxAge time.Duration
	// Duplicates is the stream's de-duplication window when NewNATS
	// creates it. Zero means [DefaultChangesDuplicates].
	Duplicates time.Duration
	// Dial opens a new connection for each handler's subscriber (watermill
	// drains a subscriber's connection when it closes). Required by
	// [NATS.Subscriber].
	Dial func() (*nats.Conn, error)
	// AckWait is how long a handler may take before JetStream redelivers
	// the change. Zero means 30 s.
	AckWait time.Duration
	// Logger receives watermill's logs. Nil discards.
	Logger *slog.Logger
}

// NATS is the bus on NATS JetStream: changes are published with
// watermill-nats to the subjects partyledger.changes.<type>, captured by
// a stream of their own, where any NATS client can subscribe to them.
// In-process handlers read the stream through a durable consumer named
// after the handler, shared by every replica: each change is handled by
// one replica, and a handler resumes where it stopped after a restart.
type NATS struct {
	pub    *wmjs.Publisher
	js     jetstream.JetStream
	stream string
	opts   NATSOptions
	wlog   watermill.LoggerAdapter
}

// NewNATS creates the changes stream on nc if it is missing (file storage,
// subjects partyledger.changes.>) and returns the bus. The bus does not own
// nc.
func NewNATS(ctx context.Context, nc *nats.Conn, opts NATSOptions) (*NATS, error) {
	if opts.Stream == "" {
		opts.Stream = DefaultChangesStream
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultChangesMaxAge
	}
	if opts.Duplicates == 0 {
		opts.Duplicates = DefaultChangesDuplicates
	}
	if opts.AckWait == 0 {
		opts.AckWait = 30 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("bus: %w", err)
	}
	if _, err := js.Stream(ctx, opts.Stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:        opts.Stream,
			Description: "partyledger changes: one CloudEvents message per stored event",
			Subjects:    []string{AllTopic},
			Storage:     jetstream.FileStorage,
			Replicas:    opts.Replicas,
			MaxAge:      opts.MaxAge,
			Duplicates:  opts.Duplicates,
		})
		if err != nil {
			return nil, fmt.Errorf("bus: create stream %s: %w", opts.Stream, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("bus: stream %s: %w", opts.Stream, err)
	}
	wlog := WatermillLogger(logger)
	pub, err := wmjs.NewPublisher(wmjs.PublisherConfig{
		Conn:   nc,
		Logger: wlog,
		// The publisher sends to the subject named by the stream config it
		// gets for a topic: the topic itself.
		ConfigureStream: func(topic string) jetstream.StreamConfig { return jetstream.StreamConfig{Name: topic} },
	})
	if err != nil {
		return nil, fmt.Errorf("bus: publisher: %w", err)
	}
	return &NATS{pub: pub, js: js, stream: opts.Stream, opts: opts, wlog: wlog}, nil
}

// Publish implements [message.Publisher]: it returns once JetStream has
// acknowledged every message. The Nats-Msg-Id header (the event id) makes
// JetStream drop a copy published again inside the duplicate window.
func (n *NATS) Publish(topic string, msgs ...*message.Message) error {
	return n.pub.Publish(topic, msgs...)
}

// ConsumerName is the durable consumer of the handler named handlerName:
// the name with every character JetStream does not allow in a consumer
// name replaced by '_'.
func ConsumerName(handlerName string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, handlerName)
}

// Subscriber is the [SubscriberFunc] of the NATS bus: a watermill-nats
// subscriber on its own connection, reading the durable consumer
// [ConsumerName](handlerName) of the changes stream (every change, from the
// start of the stream for a new handler, explicit acks).
func (n *NATS) Subscriber(handlerName string) (message.Subscriber, error) {
	if n.opts.Dial == nil {
		return nil, errors.New("bus: NATSOptions.Dial is needed for subscribers")
	}
	nc, err := n.opts.Dial()
	if err != nil {
		return nil, fmt.Errorf("bus: connect for handler %s: %w", handlerName, err)
	}
	name := ConsumerName(handlerName)
	stream := n.stream
	sub, err := wmjs.NewSubscriber(wmjs.SubscriberConfig{
		Conn:           nc,
		Logger:         n.wlog,
		AckWaitTimeout: n.opts.AckWait,
		ResourceInitializer: func(ctx context.Context, js jetstream.JetStream, topic string) (jetstream.Consumer, func(context.Context, watermill.LoggerAdapter), error) {
			c, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
				Durable:       name,
				Description:   "partyledger bus handler " + handlerName,
				FilterSubject: topic,
				DeliverPolicy: jetstream.DeliverAllPolicy,
				AckPolicy:     jetstream.AckExplicitPolicy,
				AckWait:       n.opts.AckWait,
				MaxAckPending: 256,
			})
			return c, nil, err
		},
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: subscriber for handler %s: %w", handlerName, err)
	}
	return sub, nil
}

// Close releases nothing: the connection belongs to the caller, and the
// router closes the subscribers.
func (n *NATS) Close() error { return nil }
