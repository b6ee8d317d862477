package projections

import "time"

// Change kinds of feed items about objectives, requirement reviews and
// communications (clauses 6.2, 7.4).
const (
	ChangeObjectiveAdded       = "objective_added"
	ChangeObjectiveRevised     = "objective_revised" // re-targeted, new status, other requirements
	ChangeKPIDefined           = "kpi_defined"
	ChangeKPIRevised           = "kpi_revised"
	ChangeKPIBelowTarget       = "kpi_below_target" // a measurement that does not meet the target
	ChangeRequirementReviewed  = "requirement_reviewed"
	ChangeCommunicationPlanned = "communication_planned"
	ChangeCommunicationSent    = "communication_sent"
)

// ObjectiveRef names an objective in a feed item (as it was after the
// event), and the KPI for KPI items.
type ObjectiveRef struct {
	ID    string  `json:"id"`
	Title string  `json:"title"`
	KPI   *KPIRef `json:"kpi,omitempty"`
}

// KPIRef names a KPI in a feed item, with its target as it was after the
// event.
type KPIRef struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Operator string  `json:"operator"`
	Target   float64 `json:"target"`
}

// ObjectiveView is one objective (clause 6.2) with its KPIs.
type ObjectiveView struct {
	ID             string    `json:"id"`
	Version        int64     `json:"version"` // stream version, the ETag
	Title          string    `json:"title"`
	Description    string    `json:"description"`
	Owner          string    `json:"owner"`
	Due            string    `json:"due"`
	Status         string    `json:"status"`
	RequirementIDs []string  `json:"requirement_ids"`
	KPIs           []KPIView `json:"kpis"`
	// KPIsBelowTarget counts the KPIs whose latest value does not meet the
	// target.
	KPIsBelowTarget int       `json:"kpis_below_target"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// KPIView is one KPI with its latest value. MeetsTarget is null while
// nothing has been measured.
type KPIView struct {
	ID          string            `json:"id"`
	ObjectiveID string            `json:"objective_id"`
	Name        string            `json:"name"`
	Unit        string            `json:"unit"`
	Operator    string            `json:"operator"`
	Target      float64           `json:"target"`
	Frequency   string            `json:"frequency"`
	Latest      *MeasurementView  `json:"latest"`
	MeetsTarget *bool             `json:"meets_target"`
	Trend       []MeasurementView `json:"trend,omitempty"` // the last N effective values, oldest first
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// MeasurementView is one measurement of a KPI. In a trend and as Latest it
// is the effective value of its slot: the last correction of an original
// measurement stands in its place.
type MeasurementView struct {
	ID          string    `json:"id"`
	KPIID       string    `json:"kpi_id"`
	Value       float64   `json:"value"`
	MeasuredAt  string    `json:"measured_at"`
	Corrects    *string   `json:"corrects"`
	MeetsTarget bool      `json:"meets_target"` // against the KPI's current target
	RecordedAt  time.Time `json:"recorded_at"`
	RecordedBy  string    `json:"recorded_by"`
}

// GapView is an open gap: an active requirement of an active party with no
// Annex A control and no objective addressing it (abandoned objectives do
// not count).
type GapView struct {
	Party       PartyRef       `json:"party"`
	Requirement RequirementRef `json:"requirement"`
	Owner       string         `json:"owner"`
	Priority    string         `json:"priority"`
	Addressed   *bool          `json:"addressed"` // the clause 4.2 c) decision
}

// DueReview is an active requirement whose periodic review is due.
type DueReview struct {
	Party        PartyRef               `json:"party"`
	Requirement  RequirementRef         `json:"requirement"`
	Owner        string                 `json:"owner"`
	ReviewDue    string                 `json:"review_due"`
	Overdue      bool                   `json:"overdue"` // review_due is before the date asked about
	LastReviewed *RequirementReviewView `json:"last_reviewed"`
}

// OwnerReviews groups the due reviews of one owner.
type OwnerReviews struct {
	Owner   string      `json:"owner"`
	Overdue int         `json:"overdue"`
	DueSoon int         `json:"due_soon"`
	Reviews []DueReview `json:"reviews"` // by review date
}

// RequirementReviewView is one recorded review of a requirement.
type RequirementReviewView struct {
	Position      int64     `json:"position"`
	EventID       string    `json:"event_id"`
	PartyID       string    `json:"party_id"`
	RequirementID string    `json:"requirement_id"`
	Outcome       string    `json:"outcome"`
	Notes         string    `json:"notes"`
	NextReviewDue *string   `json:"next_review_due"`
	Reason        string    `json:"reason"`
	Trigger       string    `json:"trigger"`
	ReviewedAt    time.Time `json:"reviewed_at"`
	ReviewedBy    string    `json:"reviewed_by"`
}

// PlanEntryView is one entry of a party's communication plan with where it
// stands: when it was last sent and, for entries with a frequency, when it
// is next due (one frequency after the last communication under it, or
// after the entry was planned).
type PlanEntryView struct {
	ID           string    `json:"id"`
	Party        PartyRef  `json:"party"`
	Topic        string    `json:"topic"`
	When         string    `json:"when"`
	Frequency    *string   `json:"frequency"` // null: triggered by events
	Channel      string    `json:"channel"`
	Communicator string    `json:"communicator"`
	Priority     string    `json:"priority"`
	PlannedAt    time.Time `json:"planned_at"`
	PlannedBy    string    `json:"planned_by"`
	LastSent     *string   `json:"last_sent"` // sent_at of the latest communication under the entry
	NextDue      *string   `json:"next_due"`  // YYYY-MM-DD; null for triggered entries
	Overdue      bool      `json:"overdue"`   // next_due is before the date asked about
}

// CommunicationView is one communication of the log.
type CommunicationView struct {
	ID          string    `json:"id"`
	Position    int64     `json:"position"`
	Party       PartyRef  `json:"party"`
	PlanEntryID *string   `json:"plan_entry_id"`
	Topic       *string   `json:"topic"` // the plan entry's; null for ad hoc communications
	Channel     string    `json:"channel"`
	SentBy      string    `json:"sent_by"`
	Summary     string    `json:"summary"`
	EvidenceRef string    `json:"evidence_ref"`
	SentAt      string    `json:"sent_at"`
	RecordedAt  time.Time `json:"recorded_at"`
	RecordedBy  string    `json:"recorded_by"`
}
