package httpapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/projections"
)

// Objectives is what the routes of clauses 6.2 and 7.4 need: the commands
// on objectives, KPIs, requirement reviews and communications (implemented
// by *commands.Service) and their queries (implemented by
// *projections.ReadModel).
type Objectives interface {
	commands.PlanCommands

	Objectives(ctx context.Context, f projections.ObjectiveFilter) ([]projections.ObjectiveView, error)
	Objective(ctx context.Context, id string, trend int) (projections.ObjectiveView, error)
	KPI(ctx context.Context, objectiveID, kpiID string, trend int) (projections.KPIView, error)
	Measurement(ctx context.Context, id string) (projections.MeasurementView, error)
	OpenGaps(ctx context.Context) ([]projections.GapView, error)
	ReviewsDue(ctx context.Context, today, until string) ([]projections.OwnerReviews, error)
	RequirementReviews(ctx context.Context, partyID, requirementID string) ([]projections.RequirementReviewView, error)
	CommunicationPlan(ctx context.Context, partyID, today string) ([]projections.PlanEntryView, error)
	PlanEntry(ctx context.Context, partyID, id, today string) (projections.PlanEntryView, error)
	OverdueCommunications(ctx context.Context, partyID, today string) ([]projections.PlanEntryView, error)
	Communications(ctx context.Context, f projections.CommunicationFilter) ([]projections.CommunicationView, error)
	Communication(ctx context.Context, id string) (projections.CommunicationView, error)
}

func (s *Server) objectiveRoutes() []route {
	if s.Objectives == nil {
		return nil
	}
	return []route{
		{"POST", "/api/v1/objectives", auth.PermWrite, s.handleObjectiveCreate},
		{"GET", "/api/v1/objectives", auth.PermRead, s.handleObjectiveList},
		{"GET", "/api/v1/objectives/{id}", auth.PermRead, s.handleObjectiveGet},
		{"PATCH", "/api/v1/objectives/{id}", auth.PermWrite, s.handleObjectiveRevise},
		{"POST", "/api/v1/objectives/{id}/kpis", auth.PermWrite, s.handleKPICreate},
		{"GET", "/api/v1/objectives/{id}/kpis/{kid}", auth.PermRead, s.handleKPIGet},
		{"PATCH", "/api/v1/objectives/{id}/kpis/{kid}", auth.PermWrite, s.handleKPIRevise},
		{"POST", "/api/v1/objectives/{id}/kpis/{kid}/measurements", auth.PermWrite, s.handleMeasurementCreate},
		{"GET", "/api/v1/gaps", auth.PermRead, s.handleGaps},
		{"POST", "/api/v1/parties/{id}/requirements/{rid}/reviews", auth.PermWrite, s.handleRequirementReviewCreate},
		{"GET", "/api/v1/parties/{id}/requirements/{rid}/reviews", auth.PermRead, s.handleRequirementReviewList},
		{"GET", "/api/v1/reviews/due", auth.PermRead, s.handleReviewsDue},
		{"POST", "/api/v1/parties/{id}/communication-plan", auth.PermWrite, s.handlePlanCreate},
		{"GET", "/api/v1/parties/{id}/communication-plan", auth.PermRead, s.handlePlanGet},
		{"POST", "/api/v1/communications", auth.PermWrite, s.handleCommunicationCreate},
		{"GET", "/api/v1/communications", auth.PermRead, s.handleCommunicationList},
		{"GET", "/api/v1/communications/{id}", auth.PermRead, s.handleCommunicationGet},
	}
}

// Query limits of the objective routes.
const (
	// MaxWithinDays bounds ?within= of GET /api/v1/reviews/due.
	MaxWithinDays = 3660
	// DefaultWithinDays is ?within= when absent.
	DefaultWithinDays = 30
)

// eventField reads one string member of the data of the last event a
// command appended whose data has it ("" when none has).
func eventField(res commands.Result, name string) string {
	for i := len(res.Events) - 1; i >= 0; i-- {
		var m map[string]json.RawMessage
		if json.Unmarshal(res.Events[i].Data, &m) != nil {
			continue
		}
		var s string
		if raw, ok := m[name]; ok && json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return ""
}

// number decodes a required JSON number member; ok is false (and the field
// named) when it is absent, null, not a number or not finite.
func number(d *fieldDecoder, name string) (float64, bool) {
	if !d.has(name) {
		d.fail(name, "is required: a number")
		return 0, false
	}
	return numberPtrValue(d, name)
}

func numberPtrValue(d *fieldDecoder, name string) (float64, bool) {
	n, ok := d.number(name)
	if d.isNull(name) || !ok {
		d.fail(name, "must be a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(n.String(), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		d.fail(name, "must be a finite number")
		return 0, false
	}
	return f, true
}

// numberPtr decodes an optional number: nil when absent.
func numberPtr(d *fieldDecoder, name string) *float64 {
	if !d.has(name) {
		return nil
	}
	f, ok := numberPtrValue(d, name)
	if !ok {
		return nil
	}
	return &f
}

func requirementIDs(list []string) []domain.RequirementID {
	out := make([]domain.RequirementID, len(list))
	for i, s := range list {
		out[i] = domain.RequirementID(s)
	}
	return out
}

// trendParam parses ?trend=: how many effective measurements each KPI shows.
func trendParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("trend")
	if v == "" {
		return projections.DefaultTrend, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > projections.MaxTrend {
		return 0, badParam("trend", "must be a whole number from 0 to "+strconv.Itoa(projections.MaxTrend))
	}
	return n, nil
}

// dateParam parses ?date=, the day due dates are compared with: today (UTC)
// when absent.
func dateParam(r *http.Request) (string, error) {
	v := r.URL.Query().Get("date")
	if v == "" {
		return time.Now().UTC().Format(domain.DateLayout), nil
	}
	if _, err := time.Parse(domain.DateLayout, v); err != nil {
		return "", badParam("date", "must be a date YYYY-MM-DD")
	}
	return v, nil
}

var withinRE = regexp.MustCompile(`^([0-9]{1,5})([dw]?)$`)

// withinParam parses ?within= ("30d", "4w", "30") into days.
func withinParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("within")
	if v == "" {
		return DefaultWithinDays, nil
	}
	m := withinRE.FindStringSubmatch(v)
	if m == nil {
		return 0, badParam("within", "must be a number of days such as 30d, or of weeks such as 4w")
	}
	n, _ := strconv.Atoi(m[1])
	if m[2] == "w" {
		n *= 7
	}
	if n > MaxWithinDays {
		return 0, badParam("within", "must be at most "+strconv.Itoa(MaxWithinDays)+" days")
	}
	return n, nil
}

var objectiveFields = []string{"title", "description", "owner", "due", "status", "requirement_ids", "reason", "trigger"}

func (s *Server) handleObjectiveCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, objectiveFields...)
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.SetObjective{
		Meta:           meta(r, d),
		Title:          d.str("title"),
		Description:    d.str("description"),
		Owner:          d.str("owner"),
		Due:            d.str("due"),
		Status:         d.str("status"),
		RequirementIDs: requirementIDs(d.strings("requirement_ids")),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Objectives.SetObjective(r.Context(), cmd)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(res.Stream, domain.ObjectiveStreamPrefix)
	w.Header().Set("Location", "/api/v1/objectives/"+id)
	return s.writeObjective(w, r, id, http.StatusCreated)
}

func (s *Server) writeObjective(w http.ResponseWriter, r *http.Request, id string, status int) error {
	trend, err := trendParam(r)
	if err != nil {
		return err
	}
	o, err := s.Objectives.Objective(r.Context(), id, trend)
	if err != nil {
		return err
	}
	setETag(w, o.Version)
	writeJSON(w, status, o)
	return nil
}

func (s *Server) handleObjectiveList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	objs, err := s.Objectives.Objectives(r.Context(), projections.ObjectiveFilter{Status: q.Get("status"), Owner: q.Get("owner")})
	if err != nil {
		return err
	}
	if objs == nil {
		objs = []projections.ObjectiveView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"objectives": objs})
	return nil
}

func (s *Server) handleObjectiveGet(w http.ResponseWriter, r *http.Request) error {
	return s.writeObjective(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *Server) handleObjectiveRevise(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, objectiveFields...)
	if err != nil {
		return err
	}
	cmd := domain.ReviseObjective{
		Meta:        meta(r, d),
		ObjectiveID: domain.ObjectiveID(r.PathValue("id")),
		Title:       d.strPtr("title"),
		Description: d.strPtr("description"),
		Owner:       d.strPtr("owner"),
		Due:         d.strPtr("due"),
		Status:      d.strPtr("status"),
	}
	if d.has("requirement_ids") {
		ids := requirementIDs(d.strings("requirement_ids"))
		cmd.RequirementIDs = &ids
	}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.Objectives.ReviseObjective(r.Context(), cmd, expect); err != nil {
		return err
	}
	return s.writeObjective(w, r, string(cmd.ObjectiveID), http.StatusOK)
}

var kpiFields = []string{"name", "unit", "operator", "target", "frequency", "reason", "trigger"}

func (s *Server) handleKPICreate(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, kpiFields...)
	if err != nil {
		return err
	}
	cmd := domain.DefineKPI{
		Meta:        meta(r, d),
		ObjectiveID: domain.ObjectiveID(r.PathValue("id")),
		Name:        d.str("name"),
		Unit:        d.str("unit"),
		Operator:    d.str("operator"),
		Frequency:   d.str("frequency"),
	}
	cmd.Target, _ = number(d, "target")
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Objectives.DefineKPI(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	kid := eventField(res, "kpi_id")
	w.Header().Set("Location", "/api/v1/objectives/"+string(cmd.ObjectiveID)+"/kpis/"+kid)
	return s.writeKPI(w, r, string(cmd.ObjectiveID), kid, res.Version, http.StatusCreated)
}

// writeKPI answers with one KPI, with the objective's version as ETag.
func (s *Server) writeKPI(w http.ResponseWriter, r *http.Request, objectiveID, kid string, version int64, status int) error {
	trend, err := trendParam(r)
	if err != nil {
		return err
	}
	k, err := s.Objectives.KPI(r.Context(), objectiveID, kid, trend)
	if err != nil {
		return err
	}
	setETag(w, version)
	writeJSON(w, status, k)
	return nil
}

func (s *Server) handleKPIGet(w http.ResponseWriter, r *http.Request) error {
	o, err := s.Objectives.Objective(r.Context(), r.PathValue("id"), 0)
	if err != nil {
		return err
	}
	return s.writeKPI(w, r, o.ID, r.PathValue("kid"), o.Version, http.StatusOK)
}

func (s *Server) handleKPIRevise(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, kpiFields...)
	if err != nil {
		return err
	}
	cmd := domain.ReviseKPI{
		Meta:        meta(r, d),
		ObjectiveID: domain.ObjectiveID(r.PathValue("id")),
		KPIID:       domain.KPIID(r.PathValue("kid")),
		Name:        d.strPtr("name"),
		Unit:        d.strPtr("unit"),
		Operator:    d.strPtr("operator"),
		Target:      numberPtr(d, "target"),
		Frequency:   d.strPtr("frequency"),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Objectives.ReviseKPI(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return s.writeKPI(w, r, string(cmd.ObjectiveID), string(cmd.KPIID), res.Version, http.StatusOK)
}

func (s *Server) handleMeasurementCreate(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "value", "measured_at", "corrects", "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.MeasureKPI{
		Meta:        meta(r, d),
		ObjectiveID: domain.ObjectiveID(r.PathValue("id")),
		KPIID:       domain.KPIID(r.PathValue("kid")),
		MeasuredAt:  d.str("measured_at"),
	}
	cmd.Value, _ = number(d, "value")
	if c := d.str("corrects"); c != "" {
		id := domain.MeasurementID(c)
		cmd.Corrects = &id
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Objectives.MeasureKPI(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	mv, err := s.Objectives.Measurement(r.Context(), eventField(res, "measurement_id"))
	if err != nil {
		return err
	}
	setETag(w, res.Version)
	writeJSON(w, http.StatusCreated, mv)
	return nil
}

func (s *Server) handleGaps(w http.ResponseWriter, r *http.Request) error {
	gaps, err := s.Objectives.OpenGaps(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"gaps": gaps})
	return nil
}

// ReviewResponse is the body of POST .../requirements/{rid}/reviews: the
// review as recorded and the requirement after it.
type ReviewResponse struct {
	Review      projections.RequirementReviewView `json:"review"`
	Requirement projections.RequirementView       `json:"requirement"`
}

func (s *Server) handleRequirementReviewCreate(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, append([]string{"outcome", "notes", "next_review_due"}, requirementFields...)...)
	if err != nil {
		return err
	}
	pid, rid := r.PathValue("id"), r.PathValue("rid")
	cmd := domain.ReviewRequirement{
		Meta:          meta(r, d),
		PartyID:       domain.PartyID(pid),
		RequirementID: domain.RequirementID(rid),
		Outcome:       d.str("outcome"),
		Notes:         d.str("notes"),
		NextReviewDue: d.str("next_review_due"),
	}
	rev := requirementRevision(d)
	if rev != (domain.ReviseRequirement{}) {
		cmd.Revision = &rev
	}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.Objectives.ReviewRequirement(r.Context(), cmd, expect); err != nil {
		return err
	}
	reviews, err := s.Objectives.RequirementReviews(r.Context(), pid, rid)
	if err != nil {
		return err
	}
	p, err := s.Reads.Party(r.Context(), pid)
	if err != nil {
		return err
	}
	resp := ReviewResponse{}
	if len(reviews) > 0 {
		resp.Review = reviews[len(reviews)-1]
	}
	for _, req := range p.Requirements {
		if req.ID == rid {
			resp.Requirement = req
		}
	}
	setETag(w, p.Version)
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

func (s *Server) handleRequirementReviewList(w http.ResponseWriter, r *http.Request) error {
	reviews, err := s.Objectives.RequirementReviews(r.Context(), r.PathValue("id"), r.PathValue("rid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reviews": reviews})
	return nil
}

// DueResponse is the body of GET /api/v1/reviews/due.
type DueResponse struct {
	Date    string                     `json:"date"`  // reviews dated before it are overdue
	Until   string                     `json:"until"` // reviews dated up to it are listed
	Overdue int                        `json:"overdue"`
	DueSoon int                        `json:"due_soon"`
	Owners  []projections.OwnerReviews `json:"owners"`
}

func (s *Server) handleReviewsDue(w http.ResponseWriter, r *http.Request) error {
	today, err := dateParam(r)
	if err != nil {
		return err
	}
	days, err := withinParam(r)
	if err != nil {
		return err
	}
	t, _ := time.Parse(domain.DateLayout, today)
	until := t.AddDate(0, 0, days).Format(domain.DateLayout)
	owners, err := s.Objectives.ReviewsDue(r.Context(), today, until)
	if err != nil {
		return err
	}
	resp := DueResponse{Date: today, Until: until, Owners: owners}
	for _, o := range owners {
		resp.Overdue += o.Overdue
		resp.DueSoon += o.DueSoon
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

var planFields = []string{"topic", "when", "channel", "communicator", "priority", "reason", "trigger"}

func (s *Server) handlePlanCreate(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, planFields...)
	if err != nil {
		return err
	}
	cmd := domain.PlanCommunication{
		Meta:         meta(r, d),
		PartyID:      domain.PartyID(r.PathValue("id")),
		Topic:        d.str("topic"),
		When:         d.str("when"),
		Channel:      d.str("channel"),
		Communicator: d.str("communicator"),
		Priority:     d.str("priority"),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Objectives.PlanCommunication(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	today, err := dateParam(r)
	if err != nil {
		return err
	}
	e, err := s.Objectives.PlanEntry(r.Context(), string(cmd.PartyID), eventField(res, "plan_entry_id"), today)
	if err != nil {
		return err
	}
	setETag(w, res.Version)
	w.Header().Set("Location", "/api/v1/parties/"+string(cmd.PartyID)+"/communication-plan")
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) handlePlanGet(w http.ResponseWriter, r *http.Request) error {
	today, err := dateParam(r)
	if err != nil {
		return err
	}
	pid := r.PathValue("id")
	entries, err := s.Objectives.CommunicationPlan(r.Context(), pid, today)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"party_id": pid, "date": today, "entries": entries})
	return nil
}

func (s *Server) handleCommunicationCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "party_id", "plan_entry_id", "channel", "sent_by", "summary", "evidence_ref",
		"sent_at", "reason", "trigger")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.SendCommunication{
		Meta:        meta(r, d),
		PartyID:     domain.PartyID(d.str("party_id")),
		Channel:     d.str("channel"),
		SentBy:      d.str("sent_by"),
		Summary:     d.str("summary"),
		EvidenceRef: d.str("evidence_ref"),
		SentAt:      d.str("sent_at"),
	}
	if p := d.str("plan_entry_id"); p != "" {
		id := domain.PlanEntryID(p)
		cmd.PlanEntryID = &id
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Objectives.SendCommunication(r.Context(), cmd)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(res.Stream, domain.CommunicationStreamPrefix)
	c, err := s.Objectives.Communication(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/communications/"+id)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// handleCommunicationList answers the log (?party_id= filters it) or, with
// ?overdue=true, the plan entries whose communication is overdue on ?date=
// (default today).
func (s *Server) handleCommunicationList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	party := q.Get("party_id")
	switch q.Get("overdue") {
	case "", "false":
	case "true":
		today, err := dateParam(r)
		if err != nil {
			return err
		}
		entries, err := s.Objectives.OverdueCommunications(r.Context(), party, today)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"date": today, "overdue": entries})
		return nil
	default:
		return badParam("overdue", "must be true or false")
	}
	cs, err := s.Objectives.Communications(r.Context(), projections.CommunicationFilter{PartyID: party})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"communications": cs})
	return nil
}

func (s *Server) handleCommunicationGet(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Objectives.Communication(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}
