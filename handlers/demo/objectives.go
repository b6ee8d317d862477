package demo

import (
	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/commands"
)

// The demo's objectives and KPIs (clause 6.2), its communication plan and
// log (clause 7.4) and the periodic reviews of requirements: set before the
// management review, with one KPI falling below its target, an objective
// re-targeted, requirements reviewed and communications sent after it.

// Option changes what [Load] loads.
type Option func(*loader)

// WithObjectives makes [Load] load the demo's objectives and KPIs, the
// periodic reviews of requirements and the communication plan and log as
// well. It is an option so that fixtures built on the register alone (the
// change report's golden files) keep their shape until they opt in; the
// demo command always uses it.
func WithObjectives() Option { return func(l *loader) { l.objectives = true } }

// ObjectiveID returns the id of the demo objective with the given key.
func ObjectiveID(key string) domain.ObjectiveID {
	return domain.ObjectiveID(uuid.NewSHA1(Namespace, []byte("demo/objective/"+key)).String())
}

// KPIID returns the id of the demo KPI with the given key.
func KPIID(key string) domain.KPIID {
	return domain.KPIID(uuid.NewSHA1(Namespace, []byte("demo/kpi/"+key)).String())
}

// MeasurementID returns the id of the demo measurement with the given key.
func MeasurementID(key string) domain.MeasurementID {
	return domain.MeasurementID(uuid.NewSHA1(Namespace, []byte("demo/measurement/"+key)).String())
}

// PlanEntryID returns the id of the demo plan entry with the given key.
func PlanEntryID(key string) domain.PlanEntryID {
	return domain.PlanEntryID(uuid.NewSHA1(Namespace, []byte("demo/plan/"+key)).String())
}

// CommunicationID returns the id of the demo communication with the given
// key.
func CommunicationID(key string) domain.CommunicationID {
	return domain.CommunicationID(uuid.NewSHA1(Namespace, []byte("demo/communication/"+key)).String())
}

// Keys of demo objectives and KPIs that callers and tests refer to.
const (
	ObjectiveAvailability    = "availability"
	ObjectiveBackups         = "backups"
	ObjectiveConfidentiality = "confidentiality"
	KPIBackupSuccess         = "backup-success"
)

type objective struct {
	key, title, description, owner, due string
	requirements                        []string // requirement keys
	kpis                                []kpi
}

type kpi struct {
	key, name, unit, operator, frequency string
	target                               float64
	measurements                         []measurement
}

type measurement struct {
	key, at string
	value   float64
}

var objectives = []objective{
	{key: ObjectiveAvailability, title: "Keep the platform available for customers", owner: "Head of SRE", due: "2026-12-31",
		description:  "Availability as the SLA promises, measured by the external probes, excluding announced maintenance.",
		requirements: []string{"customers-availability", "leadership-continuity"},
		kpis: []kpi{{key: "availability", name: "Monthly platform availability", unit: "%", operator: ">=", target: 99.5,
			frequency: "monthly", measurements: []measurement{
				{key: "availability-2025-12", at: "2025-12-31", value: 99.97},
				{key: "availability-2026-01", at: "2026-01-31", value: 99.95},
				{key: "availability-2026-02", at: "2026-02-28", value: 99.91},
			}}}},
	{key: ObjectiveBackups, title: "Reliable, restorable backups", owner: "Head of Platform Engineering", due: "2026-09-30",
		description:  "Backup jobs succeed and restores are tested, as the cyber insurer requires.",
		requirements: []string{"insurer-backups"},
		kpis: []kpi{{key: KPIBackupSuccess, name: "Backup jobs succeeded", unit: "%", operator: ">=", target: 85,
			frequency: "monthly", measurements: []measurement{
				{key: "backups-2026-01", at: "2026-01-31", value: 97.2},
				{key: "backups-2026-02", at: "2026-02-28", value: 96.5},
			}}}},
	{key: ObjectiveConfidentiality, title: "No confidentiality incidents affecting customer data", owner: "DPO", due: "2026-12-31",
		description:  "No customer personal data disclosed to anyone not entitled to it.",
		requirements: []string{"customers-security-of-processing", "dpa-art32"},
		kpis: []kpi{{key: "confidentiality-incidents", name: "Confidentiality incidents", unit: "incidents", operator: "=", target: 0,
			frequency: "quarterly", measurements: []measurement{
				{key: "incidents-2025-q4", at: "2025-12-31", value: 0},
			}}}},
}

type planEntry struct {
	key, party, topic, when, channel, communicator, priority string
}

var plan = []planEntry{
	{key: "customers-incidents", party: PartyCustomers, topic: "Security incidents and personal data breaches affecting the customer",
		when: "within 48 hours of detection (DPA §9.1)", channel: "email", communicator: "CISO", priority: "critical"},
	{key: "customers-subprocessors", party: PartyCustomers, topic: "Sub-processor changes",
		when: "30 days before the change (DPA §6.3)", channel: "web_announcement", communicator: "DPO", priority: "high"},
	{key: "customers-newsletter", party: PartyCustomers, topic: "Security newsletter and trust centre update",
		when: "quarterly", channel: "email", communicator: "CISO", priority: "medium"},
	{key: "dpa-breaches", party: "dpa", topic: "Notifiable personal data breaches",
		when: "within 72 hours of becoming aware (GDPR Art. 33)", channel: "other", communicator: "DPO", priority: "critical"},
	{key: "board-isms", party: "board", topic: "ISMS performance, top risks and objectives",
		when: "quarterly", channel: "meeting", communicator: "CISO", priority: "high"},
	{key: "employees-awareness", party: "employees", topic: "Policy changes and security awareness",
		when: "monthly", channel: "team_meeting", communicator: "Head of HR", priority: "medium"},
	{key: "insurer-posture", party: "insurer", topic: "Material changes in security posture before renewal",
		when: "annually", channel: "letter", communicator: "CFO", priority: "high"},
}

type communication struct {
	key, plan, party, channel, sentBy, summary, evidence, sentAt, reason, trigger string
}

// sentBefore are the communications sent before the review.
var sentBefore = []communication{
	{key: "board-2026-01", plan: "board-isms", party: "board", sentBy: "CISO", sentAt: "2026-01-22",
		summary:  "Q4 2025 ISMS report to the audit and risk committee: top risks, 4 incidents (none notifiable), objectives on track.",
		evidence: "Minutes ARC-2026-01, item 3"},
	{key: "customers-2026-01", plan: "customers-newsletter", party: PartyCustomers, sentBy: "CISO", sentAt: "2026-01-15",
		summary:  "Winter security newsletter: SSO enforcement for administrators, new trust centre documents.",
		evidence: "Mail campaign NL-2026-01"},
	{key: "employees-2026-02", plan: "employees-awareness", party: "employees", sentBy: "Head of HR", sentAt: "2026-02-05",
		summary:  "All-hands: phishing simulation results and the MFA roll-out for contractors.",
		evidence: "All-hands slides 2026-02, intranet"},
}

// sentAfter are the communications sent after the review.
var sentAfter = []communication{
	{key: "customers-inc-2026-007", plan: "customers-incidents", party: PartyCustomers, sentBy: "CISO", sentAt: "2026-04-02",
		summary:  "INC-2026-007: a report export was misdirected to another customer's tenant; scope, data involved, containment and next steps.",
		evidence: "Mail to the customer's DPO, ticket SEC-4411", reason: "Incident notification under DPA §9.1 (sent 61 h after detection)", trigger: "incident"},
	{key: "board-2026-04", plan: "board-isms", party: "board", sentBy: "CISO", sentAt: "2026-04-23",
		summary:  "Q1 2026 ISMS report: outcome of the management review, NIS2 readiness, INC-2026-007.",
		evidence: "Minutes ARC-2026-04, item 2", reason: "Quarterly ISMS report to the audit and risk committee", trigger: "management_review"},
}

const objectivesReason = "ISMS objectives and plan 2026 (clause 6.2), approved with the risk treatment plan RTP-2026 on 2026-02-16"

// baselineObjectives sets the objectives with their KPIs and measurements,
// the communication plan and the communications sent before the review.
func (l *loader) baselineObjectives() error {
	m := l.meta(objectivesReason, "risk_assessment")
	for _, o := range objectives {
		cmd := domain.SetObjective{Meta: m, ObjectiveID: ObjectiveID(o.key), Title: o.title, Description: o.description,
			Owner: o.owner, Due: o.due, Status: "in_progress"}
		for _, r := range o.requirements {
			cmd.RequirementIDs = append(cmd.RequirementIDs, RequirementID(r))
		}
		if err := l.do("set objective "+o.title, func() (commands.Result, error) { return l.c.SetObjective(l.ctx, cmd) }); err != nil {
			return err
		}
		l.sum.Objectives++
		for _, k := range o.kpis {
			def := domain.DefineKPI{Meta: m, ObjectiveID: ObjectiveID(o.key), KPIID: KPIID(k.key), Name: k.name,
				Unit: k.unit, Operator: k.operator, Target: k.target, Frequency: k.frequency}
			if err := l.do("define KPI "+k.name, func() (commands.Result, error) { return l.c.DefineKPI(l.ctx, def, nil) }); err != nil {
				return err
			}
			l.sum.KPIs++
			for _, ms := range k.measurements {
				if err := l.measure(o.key, k.key, ms, l.meta("Monthly ISMS metrics report", "periodic_review")); err != nil {
					return err
				}
			}
		}
	}
	pm := l.meta("Communication plan 2026 (clause 7.4), approved with the ISMS plan on 2026-02-16", "risk_assessment")
	for _, p := range plan {
		cmd := domain.PlanCommunication{Meta: pm, PartyID: PartyID(p.party), PlanEntryID: PlanEntryID(p.key), Topic: p.topic,
			When: p.when, Channel: p.channel, Communicator: p.communicator, Priority: p.priority}
		if err := l.do("plan communication "+p.topic, func() (commands.Result, error) {
			return l.c.PlanCommunication(l.ctx, cmd, nil)
		}); err != nil {
			return err
		}
		l.sum.PlanEntries++
	}
	for _, c := range sentBefore {
		c.reason, c.trigger = "Communication under the plan", "periodic_review"
		if err := l.send(c); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) measure(objective, kpi string, ms measurement, m domain.Meta) error {
	cmd := domain.MeasureKPI{Meta: m, ObjectiveID: ObjectiveID(objective), KPIID: KPIID(kpi),
		MeasurementID: MeasurementID(ms.key), Value: ms.value, MeasuredAt: ms.at}
	err := l.do("measure "+kpi+" "+ms.at, func() (commands.Result, error) { return l.c.MeasureKPI(l.ctx, cmd, nil) })
	if err == nil {
		l.sum.Measurements++
	}
	return err
}

func (l *loader) send(c communication) error {
	plan := PlanEntryID(c.plan)
	cmd := domain.SendCommunication{Meta: l.meta(c.reason, c.trigger), CommunicationID: CommunicationID(c.key),
		PartyID: PartyID(c.party), PlanEntryID: &plan, Channel: c.channel, SentBy: c.sentBy, Summary: c.summary,
		EvidenceRef: c.evidence, SentAt: c.sentAt}
	err := l.do("record communication "+c.key, func() (commands.Result, error) { return l.c.SendCommunication(l.ctx, cmd) })
	if err == nil {
		l.sum.Communications++
	}
	return err
}

func (l *loader) reviewRequirement(cmd domain.ReviewRequirement, key string) error {
	cmd.PartyID, cmd.RequirementID = PartyID(l.reqParty[key]), RequirementID(key)
	err := l.do("review requirement "+key, func() (commands.Result, error) { return l.c.ReviewRequirement(l.ctx, cmd, nil) })
	if err == nil {
		l.sum.RequirementReviews++
	}
	return err
}

// objectivesAfterReview is what happened to objectives, reviews and
// communications after the management review: every event is a feed item
// of the next review's 9.3.2 c) report.
func (l *loader) objectivesAfterReview() error {
	// Backups fail after the storage migration: below target.
	if err := l.measure(ObjectiveBackups, KPIBackupSuccess, measurement{key: "backups-2026-05", at: "2026-05-31", value: 78.4},
		l.meta("May backup report: snapshot jobs failing since the storage migration of 2026-05-12", "incident")); err != nil {
		return err
	}
	status, due := "at_risk", "2026-12-31"
	rev := domain.ReviseObjective{Meta: l.meta("Backup success below target since the storage migration; restore tests postponed to Q4", "incident"),
		ObjectiveID: ObjectiveID(ObjectiveBackups), Status: &status, Due: &due}
	if err := l.do("re-target objective "+ObjectiveBackups, func() (commands.Result, error) {
		return l.c.ReviseObjective(l.ctx, rev, nil)
	}); err != nil {
		return err
	}

	// Periodic reviews of two requirements whose review date had passed.
	if err := l.reviewRequirement(domain.ReviewRequirement{
		Meta:    l.meta("Periodic review: the 2026 engagement survey asks for shorter, role-based training", "periodic_review"),
		Outcome: domain.OutcomeChanged, NextReviewDue: "2027-01-31",
		Notes: "Survey 2026 Q1: 41 % find the annual e-learning too long; pilot of 10-minute role-based modules.",
		Revision: &domain.ReviseRequirement{Priority: ptr("high"),
			Description: ptr("Short, role-based security rules and training; phishing simulations with immediate feedback.")},
	}, "employees-training"); err != nil {
		return err
	}
	if err := l.reviewRequirement(domain.ReviewRequirement{
		Meta:    l.meta("Periodic review of supplier contacts", "periodic_review"),
		Outcome: domain.OutcomeUnchanged, NextReviewDue: "2026-10-31",
		Notes: "Security and abuse contacts verified in the provider console on 2026-04-08.",
	}, "cloud-contacts"); err != nil {
		return err
	}

	for _, c := range sentAfter {
		if err := l.send(c); err != nil {
			return err
		}
	}
	return nil
}
