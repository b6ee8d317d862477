package reminders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Statuses of a digest in a [Report].
const (
	StatusSent       = "sent"         // sent now and recorded as reminder.sent
	StatusWouldSend  = "would_send"   // dry run: would be sent
	StatusFailed     = "failed"       // not sent after the retries; recorded as reminder.failed
	StatusAlready    = "already_sent" // the window was already claimed (this or another process)
	StatusNoContacts = "no_contacts"  // the owner has items due but no e-mail address
)

// Outcome is what happened to one owner's digest.
type Outcome struct {
	Owner      string   `json:"owner"`
	Window     string   `json:"window"`
	Status     string   `json:"status"`
	Recipients []string `json:"recipients"`
	Items      []Item   `json:"items"`
	MessageID  string   `json:"message_id,omitempty"`
	Error      string   `json:"error,omitempty"`
	Attempts   int      `json:"attempts,omitempty"`
	// RecordedAt and Position are set for outcomes read back from the log.
	RecordedAt *time.Time `json:"recorded_at,omitempty"`
	Position   int64      `json:"position,omitempty"`
}

// Report is the result of one run.
type Report struct {
	Window  string    `json:"window"`
	DryRun  bool      `json:"dry_run"`
	Digests []Outcome `json:"digests"`
}

// RunOptions select what a run does.
type RunOptions struct {
	DryRun bool   // work out and answer what would be sent; send and append nothing
	Owner  string // only this owner; "" for all
	Actor  string // recorded on the events; "" means [domain.ReminderActor]
}

// Runner sends the digests. It is safe for concurrent use: concurrent runs,
// here or in other processes on the same log, send each (owner, window)
// digest at most once (see the package documentation).
type Runner struct {
	Log      Log
	Planner  *Planner
	Contacts *Contacts
	Mailer   Mailer // nil: runs can only be dry
	From     string // the From address of digests
	BaseURL  string // the console's public address, prefixed to item links
	Location *time.Location
	// Attempts is how often a digest is tried before reminder.failed
	// (default 3); Backoff the wait before the second try, doubled for
	// each further one (default 2 s).
	Attempts int
	Backoff  time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) loc() *time.Location {
	if r.Location != nil {
		return r.Location
	}
	return time.UTC
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

// ErrNoMailer is returned by a run that would send but has no SMTP server
// configured.
var ErrNoMailer = errors.New("reminders: no SMTP server configured (--smtp-addr)")

// Run works out what is due, and sends (or, dry, only lists) one digest per
// owner with something due. An SMTP failure of one owner does not stop the
// others; it is retried, then recorded. Run returns an error only when the
// register or the log cannot be read, or a send is asked for without a
// mailer.
func (r *Runner) Run(ctx context.Context, o RunOptions) (Report, error) {
	if !o.DryRun && r.Mailer == nil {
		return Report{}, &domain.Error{Code: domain.EINVALID, Message: ErrNoMailer.Error(), Err: ErrNoMailer}
	}
	now := r.now()
	window := now.In(r.loc()).Format(domain.ReminderWindowFmt)
	rep := Report{Window: window, DryRun: o.DryRun, Digests: []Outcome{}}
	due, err := r.Planner.Due(ctx, now, r.loc(), o.Owner)
	if err != nil {
		return rep, err
	}
	contacts, err := r.Contacts.Recorded(ctx)
	if err != nil {
		return rep, err
	}
	actor := o.Actor
	if actor == "" {
		actor = domain.ReminderActor
	}
	meta := domain.Meta{Actor: actor, Reason: "reminder digest for " + window, Trigger: "periodic_review"}
	for _, g := range due {
		if len(g.Items) == 0 {
			continue
		}
		out := Outcome{Owner: g.Owner, Window: window, Items: g.Items, Recipients: []string{}}
		if c, ok := contacts[domain.OwnerKey(g.Owner)]; ok && len(c.Emails) > 0 {
			out.Recipients = c.Emails
		}
		if len(out.Recipients) == 0 {
			out.Status = StatusNoContacts
			rep.Digests = append(rep.Digests, out)
			continue
		}
		out = r.digest(ctx, g, out, o.DryRun, meta, now)
		rep.Digests = append(rep.Digests, out)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
	}
	return rep, nil
}

// digest claims, sends and records one owner's digest.
func (r *Runner) digest(ctx context.Context, g OwnerItems, out Outcome, dry bool, meta domain.Meta, now time.Time) Outcome {
	stream := domain.ReminderStream(g.Owner, out.Window)
	expected, claimable, err := r.claimable(ctx, stream)
	if err != nil {
		out.Status, out.Error = StatusFailed, err.Error()
		return out
	}
	if !claimable {
		out.Status = StatusAlready
		return out
	}
	if dry {
		out.Status = StatusWouldSend
		return out
	}
	refs := make([]domain.ReminderItemRef, 0, len(g.Items))
	for _, it := range g.Items {
		refs = append(refs, domain.ReminderItemRef{Kind: it.Kind, ID: it.ID})
	}
	claimed, err := appendEvents(ctx, r.Log, stream, expected, meta, now,
		domain.ReminderClaimed{Owner: g.Owner, Window: out.Window, Items: refs})
	if errors.Is(err, eventstore.ErrConflict) {
		out.Status = StatusAlready // another run or replica won the claim
		return out
	}
	if err != nil {
		out.Status, out.Error = StatusFailed, err.Error()
		return out
	}
	version := claimed[len(claimed)-1].Version
	meta.CausationID = claimed[0].ID
	meta.CorrelationID = claimed[0].CorrelationID

	subject, text, html := Compose(g, out.Window, r.BaseURL)
	msg := Message{From: r.From, To: out.Recipients, Subject: subject, Text: text, HTML: html,
		MessageID: uuid.Must(uuid.NewV7()).String() + "@" + mailDomain(r.From)}
	attempts, sendErr := r.send(ctx, msg)
	out.Attempts = attempts
	var rec domain.Event
	if sendErr == nil {
		out.Status, out.MessageID = StatusSent, "<"+msg.MessageID+">"
		rec = domain.ReminderSent{Owner: g.Owner, Window: out.Window, Recipients: out.Recipients, Items: refs,
			MessageID: out.MessageID, Attempts: attempts}
	} else {
		out.Status, out.Error = StatusFailed, sendErr.Error()
		rec = domain.ReminderFailed{Owner: g.Owner, Window: out.Window, Recipients: out.Recipients, Items: refs,
			Error: sendErr.Error(), Attempts: attempts}
		r.logger().Warn("reminder digest failed", "owner", g.Owner, "window", out.Window, "attempts", attempts, "err", sendErr)
	}
	// Record on a detached context: the mail is out (or finally failed),
	// and the evidence must be kept even if the run is being cancelled.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, err := appendEvents(rctx, r.Log, stream, version, meta, r.now(), rec); err != nil {
		r.logger().Error("reminder digest: could not record the outcome", "owner", g.Owner, "window", out.Window, "err", err)
		out.Error = strings.TrimSpace(out.Error + "; recording the outcome failed: " + err.Error())
	}
	return out
}

// claimable reads the window's stream: a new stream or one whose last event
// is reminder.failed may be claimed (with the returned expected version).
func (r *Runner) claimable(ctx context.Context, stream string) (int64, bool, error) {
	evs, err := r.Log.ReadStream(ctx, stream, 1)
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", stream, err)
	}
	if len(evs) == 0 {
		return eventstore.NoStream, true, nil
	}
	last := evs[len(evs)-1]
	return last.Version, last.Type == domain.EventReminderFailed, nil
}

// send tries the message up to Attempts times with doubling backoff.
func (r *Runner) send(ctx context.Context, m Message) (int, error) {
	attempts := r.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := r.Backoff
	if wait <= 0 {
		wait = 2 * time.Second
	}
	var err error
	for i := 1; ; i++ {
		err = r.Mailer.Send(ctx, m)
		if err == nil || i >= attempts {
			return i, err
		}
		r.logger().Info("reminder digest: retrying", "attempt", i, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return i, errors.Join(err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

func mailDomain(from string) string {
	if i := strings.LastIndexByte(from, '@'); i >= 0 {
		return strings.TrimRight(from[i+1:], ">")
	}
	return "partyledger.invalid"
}

// Outcomes lists the recorded digests (reminder.sent and reminder.failed),
// newest first, at most limit of them (0: all), once the read model has
// applied the whole log. They come from the read model's reminders
// projection, as the history, the dashboard and the report do.
func (r *Runner) Outcomes(ctx context.Context, limit int) ([]Outcome, error) {
	head, _, err := r.Log.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("read head: %w", err)
	}
	if err := r.Contacts.Index.WaitFor(ctx, head); err != nil {
		return nil, fmt.Errorf("wait for read model: %w", err)
	}
	views, err := r.Contacts.Index.Reminders(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, 0, len(views))
	for _, v := range views {
		out = append(out, recordedOutcome(v))
	}
	return out, nil
}
