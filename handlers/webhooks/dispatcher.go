package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
)

// DefaultSchedule is the wait before each retry of a failed delivery: the
// first attempt is immediate, then 7 retries. After the last one fails the
// subscription is disabled.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Delivery limits.
const (
	// DefaultTimeout bounds one delivery attempt, connection included.
	DefaultTimeout = 15 * time.Second
	// Jitter spreads each scheduled wait uniformly over ±10 %, so that
	// receivers coming back up are not hit by every retry at once.
	Jitter = 0.10
	// MaxRetryAfter caps how long a Retry-After header can postpone a retry.
	MaxRetryAfter = 24 * time.Hour
	// DefaultReload is how often the dispatcher re-reads the subscriptions
	// table, for changes made by another process (the CLI).
	DefaultReload = 30 * time.Second
	// UserAgent is sent with every delivery.
	UserAgent = "partyledger-webhooks/1"
)

// Log attribute keys.
const (
	logSubscription = "subscription"
	logPosition     = "position"
	logEventID      = "event_id"
	logAttempt      = "attempt"
	logStatus       = "status"
	logError        = "err"
)

// errDisabled ends a worker whose subscription it has just disabled.
var errDisabled = errors.New("webhooks: subscription disabled")

// Dispatcher delivers the events of the log to every active subscription:
// one goroutine per subscription, each following the change pipeline from
// the subscription's stored position (see the package documentation). Set the
// fields, then call [Dispatcher.Run].
type Dispatcher struct {
	Subs *Subscriptions
	Feed *Feed
	// Client sends the requests. Nil means Client(Guard.Transport(),
	// DefaultTimeout); a custom client must refuse redirects and check
	// addresses itself.
	Client *http.Client
	Guard  *Guard
	// Schedule is the wait before each retry; nil means [DefaultSchedule].
	Schedule []time.Duration
	// Reload is how often the subscriptions are re-read; 0 means
	// [DefaultReload].
	Reload time.Duration
	// Leases, if set, runs each subscription's worker under the lease
	// LeasePrefix+id (see handlers/lease), so that among replicas sharing
	// the subscriptions one delivers a subscription's events at a time and
	// another takes over when it dies. Nil runs every worker here.
	Leases Leases
	Logger *slog.Logger
}

// Leases runs a job on one replica at a time (implemented by
// *lease.Runner): Run returns nil when job returned nil by itself while
// holding the lease, and ctx's error when ctx ended.
type Leases interface {
	Run(ctx context.Context, key string, job func(context.Context) error) error
}

// LeasePrefix starts the lease key of a subscription's worker.
const LeasePrefix = "webhooks."

type running struct {
	gen    int64
	cancel context.CancelFunc
	done   chan struct{}
}

// Run starts and stops workers as subscriptions come and go until ctx is
// done, then stops every worker and returns ctx.Err(). Run it once per
// event log: two dispatchers on one log would deliver everything twice.
func (d *Dispatcher) Run(ctx context.Context) error {
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	client := d.Client
	if client == nil {
		g := d.Guard
		if g == nil {
			g = &Guard{}
		}
		client = Client(g.Transport(), DefaultTimeout)
	}
	schedule := d.Schedule
	if schedule == nil {
		schedule = DefaultSchedule
	}
	reload := d.Reload
	if reload <= 0 {
		reload = DefaultReload
	}
	workers := map[string]*running{}
	stop := func(id string) {
		if w, ok := workers[id]; ok {
			w.cancel()
			<-w.done
			delete(workers, id)
		}
	}
	defer func() {
		for id := range workers {
			stop(id)
		}
	}()
	// Subscriptions changed by other replicas (shared buckets) signal
	// Changed too.
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() { defer close(watchDone); d.Subs.Watch(watchCtx) }()
	defer func() { stopWatch(); <-watchDone }()
	exited := make(chan struct{}, 1)
	ticker := time.NewTicker(reload)
	defer ticker.Stop()
	for {
		changed := d.Subs.Changed()
		subs, err := d.Subs.List(ctx)
		if err != nil && ctx.Err() == nil {
			logger.Error("list subscriptions", logError, err)
		}
		if err == nil {
			active := map[string]bool{}
			for _, sub := range subs {
				if sub.Status != StatusActive {
					continue
				}
				active[sub.ID] = true
				if w, ok := workers[sub.ID]; ok {
					select {
					case <-w.done: // it stopped by itself: restart it
					default:
						if w.gen == sub.Generation {
							continue
						}
					}
					stop(sub.ID)
				}
				wctx, cancel := context.WithCancel(ctx)
				r := &running{gen: sub.Generation, cancel: cancel, done: make(chan struct{})}
				workers[sub.ID] = r
				w := &worker{subs: d.Subs, feed: d.Feed, client: client, schedule: schedule, sub: sub,
					log: logger.With(logSubscription, sub.ID)}
				go func() {
					defer close(r.done)
					if d.Leases != nil {
						_ = d.Leases.Run(wctx, LeasePrefix+w.sub.ID, func(ctx context.Context) error {
							w.run(ctx)
							return nil
						})
					} else {
						w.run(wctx)
					}
					select {
					case exited <- struct{}{}:
					default:
					}
				}()
			}
			for id := range workers {
				if !active[id] {
					stop(id)
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case <-exited:
		case <-ticker.C:
		}
	}
}

// worker delivers the events of one subscription, in order.
type worker struct {
	subs     *Subscriptions
	feed     *Feed
	client   *http.Client
	schedule []time.Duration
	sub      Subscription
	log      *slog.Logger
	resumed  bool // the stored retry state has been taken over
}

// run follows the log until ctx is done, the subscription is disabled or
// changed, restarting after read or database errors with a growing pause.
func (w *worker) run(ctx context.Context) {
	pause := time.Second
	for {
		err := w.follow(ctx)
		if ctx.Err() != nil || errors.Is(err, errDisabled) || errors.Is(err, ErrStale) {
			return
		}
		w.log.Warn("webhook worker paused", logError, err, "retry_in", pause)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		pause = min(2*pause, time.Minute)
	}
}

func (w *worker) follow(ctx context.Context) error {
	sub, err := w.subs.Get(ctx, w.sub.ID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return ErrStale // deleted
	}
	if err != nil {
		return err
	}
	if sub.Generation != w.sub.Generation || sub.Status != StatusActive {
		return ErrStale
	}
	w.sub, w.resumed = sub, false
	return w.feed.Follow(ctx, sub.Position, func(ctx context.Context, batch []Notification) error {
		var skipped int64
		for _, n := range batch {
			// Name reservations are bookkeeping, not changes: skipped
			// like events the filter does not match.
			if domain.IsInternalEvent(n.Event.Type) || !w.sub.Filter.Match(n.Event.Type, n.Event.Trigger, n.Item) {
				skipped = n.Event.Position
				continue
			}
			if err := w.deliver(ctx, n); err != nil {
				return err
			}
			skipped = 0
		}
		if skipped > 0 {
			return w.subs.advance(ctx, w.sub.ID, w.sub.Generation, skipped)
		}
		return nil
	})
}

// deliver sends one event until the receiver takes it, the schedule is
// exhausted or the receiver answers 410. It returns nil once delivered and
// errDisabled when it disabled the subscription.
func (w *worker) deliver(ctx context.Context, n Notification) error {
	ev := n.Event
	if !w.sub.FullEnvelope {
		ev = RedactEnvelope(ev)
	}
	body, err := NewPayload(ev, n.Item).Marshal()
	if err != nil {
		return fmt.Errorf("webhooks: encode event %d: %w", n.Event.Position, err)
	}
	failed := 0
	var next time.Time
	if !w.resumed {
		// A restart continues the schedule of the event that was failing.
		w.resumed = true
		failed = w.sub.FailedAttempts
		if w.sub.NextAttemptAt != nil {
			next = *w.sub.NextAttemptAt
		}
	}
	for {
		if wait := time.Until(next); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		// The secrets are read for each attempt: a rotation applies at once.
		secrets, err := w.subs.secrets(ctx, w.sub.ID, time.Now())
		if err != nil {
			return err
		}
		res := w.send(ctx, n.Event.ID, body, secrets)
		if ctx.Err() != nil {
			return ctx.Err() // cut short by a stop: not an attempt
		}
		d := Delivery{EventID: n.Event.ID, Position: n.Event.Position, Type: n.Event.Type,
			Attempt: failed + 1, At: res.at, StatusCode: res.status, LatencyMS: res.latency.Milliseconds(), Error: res.err}
		var reason string
		switch {
		case res.ok():
			d.Outcome = OutcomeDelivered
		case res.status == http.StatusGone:
			d.Outcome = OutcomeGone
			reason = fmt.Sprintf("the receiver answered 410 Gone to event %d (%s)", n.Event.Position, n.Event.ID)
		case failed >= len(w.schedule):
			d.Outcome = OutcomeExhausted
			reason = fmt.Sprintf("all %d attempts to deliver event %d (%s) failed; the last: %s",
				d.Attempt, n.Event.Position, n.Event.ID, d.Error)
		default:
			d.Outcome = OutcomeFailed
			wait := jitter(w.schedule[failed])
			if res.retryAfter > wait {
				wait = min(res.retryAfter, MaxRetryAfter)
			}
			next = time.Now().Add(wait)
			d.NextRetryAt = &next
		}
		if err := w.subs.attempted(ctx, &w.sub, d, reason); err != nil {
			return err
		}
		w.log.LogAttrs(ctx, levelOf(d.Outcome), "webhook "+d.Outcome, slog.Int64(logPosition, d.Position),
			slog.String(logEventID, d.EventID), slog.Int(logAttempt, d.Attempt),
			slog.Int(logStatus, d.StatusCode), slog.String(logError, d.Error))
		switch d.Outcome {
		case OutcomeDelivered:
			return nil
		case OutcomeGone, OutcomeExhausted:
			return errDisabled
		}
		failed++
	}
}

func levelOf(outcome string) slog.Level {
	switch outcome {
	case OutcomeDelivered:
		return slog.LevelDebug
	case OutcomeFailed:
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

// jitter spreads d uniformly over [d-10%, d+10%].
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 - Jitter + 2*Jitter*rand.Float64()))
}

// result is the outcome of one HTTP attempt.
type result struct {
	at         time.Time
	status     int
	latency    time.Duration
	err        string
	retryAfter time.Duration
}

func (r result) ok() bool { return r.status >= 200 && r.status <= 299 }

// ErrUnreachable is the recorded error of every delivery attempt that got
// no HTTP answer (refused, reset, timed out, refused by the address guard).
const ErrUnreachable = "the receiver could not be reached"

// send makes one attempt: a POST of body signed with each of secrets.
func (w *worker) send(ctx context.Context, id string, body []byte, secrets []string) result {
	start := time.Now()
	res := result{at: start.UTC()}
	var sigs []string
	for _, s := range secrets {
		sig, err := Sign(s, id, start, body)
		if err != nil {
			res.err = "cannot sign: " + err.Error()
			return res
		}
		sigs = append(sigs, sig)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.sub.URL, bytes.NewReader(body))
	if err != nil {
		res.err = "bad request: " + err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(start.Unix(), 10))
	req.Header.Set(HeaderSignature, strings.Join(sigs, " "))
	resp, err := w.client.Do(req)
	res.latency = time.Since(start)
	if err != nil {
		// The API shows this text to the subscription's owner: one message
		// for every transport failure, so that deliveries cannot tell a
		// closed port from a filtered one or a timeout (a port scanner).
		// The operator log keeps the cause.
		w.log.Warn("webhook delivery failed", "subscription", w.sub.ID, "err", err)
		res.err = ErrUnreachable
		return res
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	res.status = resp.StatusCode
	if !res.ok() {
		res.err = "the receiver answered " + resp.Status
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			res.err += " (redirects are not followed)"
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return res
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// It returns 0 when absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(n)*time.Second, MaxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}
