package projections

import (
	"context"
	"database/sql"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// communications projects communication.planned events (in party streams)
// into communication_plan and communication.sent events (one stream each)
// into communications: the plan and the log of clause 7.4.
type communications struct {
	heldStmts
	insPlan, insSent *sql.Stmt
}

func newCommunications() *communications { return &communications{} }

func (c *communications) name() string                { return "communications" }
func (c *communications) tables() []string            { return []string{"communication_plan", "communications"} }
func (c *communications) setCacheLimit(int)           {}
func (c *communications) flush(context.Context) error { return nil }
func (c *communications) end(bool)                    { c.insPlan, c.insSent = nil, nil }

func (c *communications) begin(ctx context.Context, tx *sql.Tx) error {
	var err error
	c.insPlan, err = c.prepare(ctx, tx, `INSERT INTO communication_plan (id, party_id, position, topic,
			"when", frequency, channel, communicator, priority, planned_at, planned_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return err
	}
	c.insSent, err = c.prepare(ctx, tx, `INSERT INTO communications (id, position, party_id,
			plan_entry_id, channel, sent_by, summary, evidence_ref, sent_at, recorded_at, recorded_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	return err
}

func (c *communications) apply(ctx context.Context, ev *eventstore.Event, de domain.Event) error {
	switch e := de.(type) {
	case domain.CommunicationPlanned:
		_, err := c.insPlan.ExecContext(ctx, string(e.PlanEntryID), string(e.PartyID), ev.Position, e.Topic,
			e.When, e.Frequency, e.Channel, e.Communicator, e.Priority, formatTime(ev.Time), ev.Actor)
		return err
	case domain.CommunicationSent:
		var plan *string
		if e.PlanEntryID != nil {
			s := string(*e.PlanEntryID)
			plan = &s
		}
		_, err := c.insSent.ExecContext(ctx, string(e.CommunicationID), ev.Position, string(e.PartyID), plan,
			e.Channel, e.SentBy, e.Summary, e.EvidenceRef, e.SentAt, formatTime(ev.Time), ev.Actor)
		return err
	}
	return nil
}

const planCols = `e.id, p.id, p.name, p.scope, p.category, e.topic, e."when", e.frequency, e.channel,
	e.communicator, e.priority, e.planned_at, e.planned_by,
	(SELECT MAX(s.sent_at) FROM communications s WHERE s.plan_entry_id = e.id)`

// scanPlanEntry reads planCols and works out next_due and overdue against
// today (YYYY-MM-DD).
func scanPlanEntry(s scanner, today string) (PlanEntryView, error) {
	var v PlanEntryView
	var freq, planned string
	if err := s.Scan(&v.ID, &v.Party.ID, &v.Party.Name, &v.Party.Scope, &v.Party.Category, &v.Topic,
		&v.When, &freq, &v.Channel, &v.Communicator, &v.Priority, &planned, &v.PlannedBy, &v.LastSent); err != nil {
		return v, err
	}
	var err error
	if v.PlannedAt, err = parseTime(planned); err != nil {
		return v, err
	}
	if freq == "" {
		return v, nil
	}
	v.Frequency = &freq
	from := v.PlannedAt.UTC().Format(domain.DateLayout)
	if v.LastSent != nil && len(*v.LastSent) >= len(domain.DateLayout) {
		from = (*v.LastSent)[:len(domain.DateLayout)]
	}
	if next, ok := domain.NextDue(from, freq); ok {
		v.NextDue = &next
		v.Overdue = next < today
	}
	return v, nil
}

func checkToday(today string) error {
	if _, err := time.Parse(domain.DateLayout, today); err != nil {
		return &domain.Error{Code: domain.EINVALID, Message: "invalid query",
			Fields: []domain.FieldError{{Field: "date", Message: "must be a date YYYY-MM-DD"}}}
	}
	return nil
}

// CommunicationFilter selects communications of the log.
type CommunicationFilter struct {
	PartyID string // empty: every party
}

const communicationCols = `c.id, c.position, c.party_id, COALESCE(p.name, ''), COALESCE(p.scope, ''),
	COALESCE(p.category, ''), c.plan_entry_id, e.topic, c.channel, c.sent_by, c.summary, c.evidence_ref,
	c.sent_at, c.recorded_at, c.recorded_by`

func scanCommunication(s scanner) (CommunicationView, error) {
	var v CommunicationView
	var recorded string
	if err := s.Scan(&v.ID, &v.Position, &v.Party.ID, &v.Party.Name, &v.Party.Scope, &v.Party.Category,
		&v.PlanEntryID, &v.Topic, &v.Channel, &v.SentBy, &v.Summary, &v.EvidenceRef, &v.SentAt,
		&recorded, &v.RecordedBy); err != nil {
		return v, err
	}
	var err error
	v.RecordedAt, err = parseTime(recorded)
	return v, err
}

const communicationFrom = ` FROM communications c LEFT JOIN parties p ON p.id = c.party_id
	LEFT JOIN communication_plan e ON e.id = c.plan_entry_id`
