package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// requirementIDOf reads requirement_id from a requirement event's data.
func requirementIDOf(data []byte) string {
	var v struct {
		RequirementID string `json:"requirement_id"`
	}
	_ = json.Unmarshal(data, &v)
	return v.RequirementID
}

func (s *Server) handleReviewCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "held_on", "title", "attendees", "notes", "reason", "trigger",
		"considered_from", "considered_to", "decisions", "actions")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.HoldManagementReview{
		Meta:           meta(r, d),
		HeldOn:         d.str("held_on"),
		Title:          d.str("title"),
		Attendees:      d.strings("attendees"),
		Notes:          d.str("notes"),
		ConsideredFrom: s.windowEnd(r.Context(), d, "considered_from"),
		ConsideredTo:   s.windowEnd(r.Context(), d, "considered_to"),
		Decisions:      d.strings("decisions"),
		Actions:        actionInputs(d, "actions"),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Commands.HoldManagementReview(r.Context(), cmd)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(res.Stream, domain.ReviewStreamPrefix)
	rv, err := s.Reads.Review(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/management-reviews/"+id)
	out := reviewCreated{ReviewView: rv}
	if rv.Late {
		out.Notice = lateNotice
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// actionInputs decodes a list of actions [{title, owner, due_on}]: the
// "actions" of a new review, the "add_actions" of a correction.
func actionInputs(d *fieldDecoder, name string) []domain.ActionInput {
	var in []struct {
		Title string `json:"title"`
		Owner string `json:"owner"`
		DueOn string `json:"due_on"`
	}
	if !d.has(name) || d.isNull(name) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(d.m[name]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		d.fail(name, "must be a list of {title, owner, due_on}")
		return nil
	}
	out := make([]domain.ActionInput, 0, len(in))
	for _, a := range in {
		out = append(out, domain.ActionInput{Title: a.Title, Owner: a.Owner, DueOn: a.DueOn})
	}
	return out
}

func (s *Server) handleReviewList(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.Reads.Reviews(r.Context())
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []projections.ReviewView{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"management_reviews": rs})
	return nil
}

func (s *Server) handleReviewGet(w http.ResponseWriter, r *http.Request) error {
	rv, err := s.Reads.Review(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rv)
	return nil
}
