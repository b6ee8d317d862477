package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/components/cqrs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/eventstore/jetstream"
	"github.com/partyledger/partyledger/eventstore/sqlite"
	"github.com/partyledger/partyledger/handlers/bus"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/lease"
)

// Environment variables of the event bus flags.
const (
	envBus       = "PARTYLEDGER_EVENT_BUS"
	envBusSource = "PARTYLEDGER_EVENT_BUS_SOURCE"
)

// busOptions are the event bus flags of serve. The zero value of the
// package variable is not used: it starts enabled, as the flag's default.
type busOptions struct {
	enabled bool
	source  string
}

var busOpts = busOptions{enabled: true, source: bus.DefaultSource}

// busHandlers are the in-process subscribers of the event bus. A feature
// file appends a constructor from an init function; serve calls it once
// the app is open. Each handler needs a stable name (see bus.NewHandler).
var busHandlers []func(a *app) (cqrs.EventHandler, error)

func init() {
	serveFeatures = append(serveFeatures, serveFeature{name: "event bus", flags: busFlags, start: startBus})
	busHandlers = append(busHandlers, newBusLogHandler)
}

func busFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&busOpts.enabled, "event-bus", envOr(envBus, "true") == "true",
		"publish every stored event on the event bus (env "+envBus+")")
	fs.StringVar(&busOpts.source, "event-bus-source", envOr(envBusSource, bus.DefaultSource),
		"CloudEvents source of published changes; the same on every replica (env "+envBusSource+")")
}

// startBus starts the bus handlers, then the forwarder that publishes every
// stored event: in-process with the SQLite store, on JetStream with NATS.
func startBus(ctx context.Context, a *app, _ *httpapi.Server) (func() error, error) {
	if !busOpts.enabled {
		return nil, nil
	}
	logger := a.logger.With("component", "bus")
	// The checkpoints and the poison table live in the event log's file,
	// beside the webhook subscriptions: the read model is disposable.
	cpDB, err := sqlite.OpenDB(a.dbPath)
	if err != nil {
		return nil, fmt.Errorf("open bus checkpoints in %s: %w", a.dbPath, err)
	}
	cp, err := bus.OpenCheckpoints(ctx, cpDB)
	if err == nil {
		err = cp.Adopt(ctx, a.readDB) // where earlier versions kept them
	}
	if err != nil {
		cpDB.Close()
		return nil, err
	}
	var (
		pub      message.Publisher
		sub      bus.SubscriberFunc
		closePub func() error
	)
	if a.nats != nil {
		nb, err := bus.NewNATS(ctx, a.nats.conn, bus.NATSOptions{Replicas: a.nats.replicas, Dial: a.nats.dial, Logger: logger})
		if err != nil {
			cpDB.Close()
			return nil, err
		}
		pub, sub, closePub = nb, nb.Subscriber, func() error { return errors.Join(nb.Close(), cpDB.Close()) }
	} else {
		ip := bus.NewInProcess(logger)
		pub, sub, closePub = ip, ip.Subscriber, func() error { return errors.Join(ip.Close(), cpDB.Close()) }
	}
	// On NATS the bus is the JetStream subjects that integrators
	// subscribe to; serve runs no in-process handlers there, because
	// watermill-nats v2.1.3 closes a subscription's output channel without
	// synchronising with the goroutines that send on it (pkg/jetstream
	// consumer.go monitor vs message_handler.go): the race detector flags
	// every shutdown after a delivered message, and a message arriving at
	// that moment can panic with "send on closed channel".
	stopRouter, waitRouter, closeRouter := func() {}, func() {}, func() error { return nil }
	if a.nats == nil {
		b, err := bus.New(bus.Config{Subscriber: sub, Poison: cp.NewPoisonTable(), Logger: logger})
		if err != nil {
			closePub()
			return nil, err
		}
		for _, newHandler := range busHandlers {
			h, err := newHandler(a)
			if err == nil {
				err = b.AddHandler(h)
			}
			if err != nil {
				closePub()
				return nil, fmt.Errorf("event bus handler: %w", err)
			}
		}

		var wg sync.WaitGroup
		routerCtx, cancelRouter := context.WithCancel(context.Background())
		wg.Go(func() {
			if err := b.Run(routerCtx); err != nil {
				logger.Error("event bus router stopped", "err", err)
			}
		})
		select {
		case <-b.Running():
		case <-time.After(30 * time.Second):
			cancelRouter()
			wg.Wait()
			closePub()
			return nil, errors.New("event bus router did not start within 30 s")
		}
		stopRouter, waitRouter, closeRouter = cancelRouter, wg.Wait, b.Close
	}

	// On NATS the forwarder runs on one replica at a time (lease "bus")
	// from a checkpoint every replica shares, so that a takeover resumes
	// where the last holder stopped.
	positions, err := busPositions(ctx, a, cp)
	var leases *lease.Runner
	if err == nil {
		leases, err = leaseRunner(ctx, a, "bus")
	}
	if err != nil {
		closeRouter()
		stopRouter()
		waitRouter()
		closePub()
		return nil, err
	}
	f := &bus.Forwarder{Changes: a.changes, Publisher: pub, Checkpoints: positions, Source: busOpts.source, Logger: logger}
	stopForwarder := runLeased(leases, leaseBus, f.Run)
	logger.Info("event bus started", "source", busOpts.source, "nats", a.nats != nil)

	return func() error {
		stopForwarder()
		err := closeRouter()
		stopRouter()
		waitRouter()
		return errors.Join(err, closePub())
	}, nil
}

// busBucket holds the forwarder's checkpoint on NATS.
const busBucket = "bus"

// busPositions returns where the forwarder keeps its checkpoint: the
// shared bucket on NATS (seeded, the first time, from the local table an
// earlier version kept it in), the local table on SQLite.
func busPositions(ctx context.Context, a *app, local *bus.Checkpoints) (bus.Positions, error) {
	kv, err := a.bucket(ctx, busBucket, jetstream.BucketOptions{Description: "partyledger: the event bus forwarder's checkpoint"})
	if err != nil || kv == nil {
		return local, err
	}
	shared := &bus.KVCheckpoints{KV: kv}
	pos, err := shared.Load(ctx, bus.DefaultForwarderName)
	if err == nil && pos == 0 {
		var old int64
		if old, err = local.Load(ctx, bus.DefaultForwarderName); err == nil && old > 0 {
			err = shared.Save(ctx, bus.DefaultForwarderName, old)
		}
	}
	if err != nil {
		return nil, err
	}
	return shared, nil
}

// newBusLogHandler logs every change at debug level: the bus's own
// in-process subscriber, and an example for the ones features add.
func newBusLogHandler(a *app) (cqrs.EventHandler, error) {
	logger := a.logger.With("component", "bus", "handler", "partyledger.bus.log")
	return bus.NewHandler("partyledger.bus.log", func(ctx context.Context, c *bus.Change) error {
		logger.Debug("change", "id", c.ID, "type", c.Type, "subject", c.Subject, "position", c.Data.Position)
		return nil
	}), nil
}
