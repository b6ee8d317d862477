package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/projections"
)

// ReviewOutputs is what the routes of a management review's window,
// corrections, voids, actions (clause 9.3.3) and the stored settings need:
// commands (implemented by *commands.Service) and queries (implemented by
// *projections.ReadModel).
type ReviewOutputs interface {
	commands.ReviewCommands

	Actions(ctx context.Context, status, today string) ([]projections.ActionView, error)
	Action(ctx context.Context, reviewID, id, today string) (projections.ActionView, error)
	Settings(ctx context.Context) (projections.SettingsView, error)
	Review(ctx context.Context, id string) (projections.ReviewView, error)
	PositionAt(ctx context.Context, t time.Time) (int64, error)
}

// reviewOutputRoutes serves corrections, voids, actions and settings; none
// without a ReviewOutputs dependency. PATCH and DELETE on a review stay 405:
// history is never edited.
func (s *Server) reviewOutputRoutes() []route {
	if s.ReviewOutputs == nil {
		return nil
	}
	return []route{
		{"POST", "/api/v1/management-reviews/{id}/corrections", auth.PermWrite, s.handleReviewCorrect},
		{"POST", "/api/v1/management-reviews/{id}/void", auth.PermWrite, s.handleReviewVoid},
		{"POST", "/api/v1/management-reviews/{id}/actions/{aid}/complete", auth.PermWrite, s.handleActionComplete},
		{"POST", "/api/v1/management-reviews/{id}/actions/{aid}/cancel", auth.PermWrite, s.handleActionCancel},
		{"GET", "/api/v1/actions", auth.PermRead, s.handleActionList},
		{"GET", "/api/v1/settings", auth.PermRead, s.handleSettingsGet},
		{"PUT", "/api/v1/settings", auth.PermAdmin, s.handleSettingsPut},
	}
}

// reviewCreated is the answer to POST /api/v1/management-reviews: the
// review, and for a review entered late a notice saying so.
type reviewCreated struct {
	projections.ReviewView
	Notice string `json:"notice,omitempty"`
}

// lateNotice is the notice of a review entered late.
const lateNotice = "This review was held before the latest recorded review. It was recorded with the " +
	"window given, and it does not become the last review: changes since the last review still " +
	"start where the latest one's window ended."

// windowEnd decodes considered_from or considered_to: a position (a JSON
// integer) or an expression (review:<id>, position:<n>, time:<RFC3339> or a
// date), resolved to a position. nil when absent.
func (s *Server) windowEnd(ctx context.Context, d *fieldDecoder, name string) *int64 {
	raw, ok := d.m[name]
	if !ok || d.isNull(name) {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		p, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || p < 0 {
			d.fail(name, "must be a position >= 0 or review:<id>, position:<n>, time:<RFC3339> or a date")
			return nil
		}
		return &p
	}
	expr := d.str(name)
	if expr == "" {
		return nil
	}
	if s.ReviewOutputs == nil {
		d.fail(name, "must be a position")
		return nil
	}
	p, err := projections.ResolvePosition(ctx, s.ReviewOutputs, name, strings.TrimSpace(expr))
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			d.fail(name, err.Error())
			return nil
		}
		if fe, ok := err.(*domain.Error); ok && len(fe.Fields) > 0 {
			d.fields = append(d.fields, fe.Fields...)
			return nil
		}
		d.fail(name, "could not be resolved")
		return nil
	}
	return &p
}

func (s *Server) handleReviewCorrect(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "held_on", "title", "attendees", "notes", "considered_from",
		"considered_to", "decisions", "add_actions", "remove_actions", "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.CorrectManagementReview{
		Meta:           meta(r, d),
		ReviewID:       domain.ReviewID(r.PathValue("id")),
		HeldOn:         d.strPtr("held_on"),
		Title:          d.strPtr("title"),
		Notes:          d.strPtr("notes"),
		ConsideredFrom: s.windowEnd(r.Context(), d, "considered_from"),
		ConsideredTo:   s.windowEnd(r.Context(), d, "considered_to"),
	}
	if d.has("attendees") {
		a := d.strings("attendees")
		cmd.Attendees = &a
	}
	if d.has("decisions") {
		ds := d.strings("decisions")
		cmd.Decisions = &ds
	}
	cmd.AddActions = actionInputs(d, "add_actions")
	for _, id := range d.strings("remove_actions") {
		cmd.RemoveActions = append(cmd.RemoveActions, domain.ActionID(id))
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.ReviewOutputs.CorrectManagementReview(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	rv, err := s.ReviewOutputs.Review(r.Context(), string(cmd.ReviewID))
	if err != nil {
		return err
	}
	out := reviewCorrected{ReviewView: rv, AddedActions: []projections.ActionView{}}
	for _, e := range res.Events {
		if c, ok := decodeCorrected(e.Type, e.Schema, e.Data); ok {
			for _, a := range c.ActionsAdded {
				for _, av := range rv.Actions {
					if av.ID == string(a.ActionID) {
						out.AddedActions = append(out.AddedActions, av)
					}
				}
			}
		}
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(res.Version, 10)))
	writeJSON(w, http.StatusOK, out)
	return nil
}

// reviewCorrected is the answer to a correction: the review as it now is,
// and the actions the correction added, with their ids.
type reviewCorrected struct {
	projections.ReviewView
	AddedActions []projections.ActionView `json:"added_actions"`
}

// decodeCorrected decodes a stored management_review.corrected.
func decodeCorrected(typ string, schema int, data []byte) (domain.ManagementReviewCorrected, bool) {
	if typ != domain.EventManagementReviewCorrected {
		return domain.ManagementReviewCorrected{}, false
	}
	de, err := domain.Decode(typ, schema, data)
	c, ok := de.(domain.ManagementReviewCorrected)
	return c, err == nil && ok
}

func (s *Server) handleReviewVoid(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.VoidManagementReview{Meta: meta(r, d), ReviewID: domain.ReviewID(r.PathValue("id"))}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.ReviewOutputs.VoidManagementReview(r.Context(), cmd, expect)
	if err != nil {
		return err
	}
	return s.writeReview(w, r, cmd.ReviewID, res)
}

// writeReview answers a write on a review with the review as it now is and
// its version as the ETag.
func (s *Server) writeReview(w http.ResponseWriter, r *http.Request, id domain.ReviewID, res commands.Result) error {
	rv, err := s.ReviewOutputs.Review(r.Context(), string(id))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", strconv.Quote(strconv.FormatInt(res.Version, 10)))
	writeJSON(w, http.StatusOK, rv)
	return nil
}

func (s *Server) handleActionComplete(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "evidence", "reason", "trigger")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.CompleteAction{Meta: meta(r, d), ReviewID: domain.ReviewID(r.PathValue("id")),
		ActionID: domain.ActionID(r.PathValue("aid")), Evidence: d.str("evidence")}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.ReviewOutputs.CompleteAction(r.Context(), cmd); err != nil {
		return err
	}
	return s.writeAction(w, r)
}

func (s *Server) handleActionCancel(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "reason", "trigger")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.CancelAction{Meta: meta(r, d), ReviewID: domain.ReviewID(r.PathValue("id")),
		ActionID: domain.ActionID(r.PathValue("aid"))}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.ReviewOutputs.CancelAction(r.Context(), cmd); err != nil {
		return err
	}
	return s.writeAction(w, r)
}

func (s *Server) writeAction(w http.ResponseWriter, r *http.Request) error {
	a, err := s.ReviewOutputs.Action(r.Context(), r.PathValue("id"), r.PathValue("aid"),
		time.Now().UTC().Format(domain.DateLayout))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// handleActionList answers GET /api/v1/actions?status=open|overdue|done
// (all when absent) &date= (the day overdue is judged against; today UTC).
func (s *Server) handleActionList(w http.ResponseWriter, r *http.Request) error {
	today, err := dateParam(r)
	if err != nil {
		return err
	}
	as, err := s.ReviewOutputs.Actions(r.Context(), r.URL.Query().Get("status"), today)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"actions": as, "date": today})
	return nil
}

func (s *Server) handleSettingsGet(w http.ResponseWriter, r *http.Request) error {
	st, err := s.ReviewOutputs.Settings(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// handleSettingsPut answers PUT /api/v1/settings {"org_name": "..."}
// (admin): the settings are stored as events, so that who changed the
// organisation's name, and when, is in the audit trail.
func (s *Server) handleSettingsPut(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "org_name", "reason", "trigger")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.ChangeSettings{Meta: meta(r, d), OrgName: d.strPtr("org_name")}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.ReviewOutputs.ChangeSettings(r.Context(), cmd); err != nil {
		return err
	}
	return s.handleSettingsGet(w, r)
}
