package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/verify"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/projections"
)

// AuditIndex answers the audit trail's queries from the read model
// (implemented by *projections.ReadModel).
type AuditIndex interface {
	EventPositions(ctx context.Context, f projections.EventFilter) (positions []int64, more bool, err error)
	History(ctx context.Context, partyID, requirementID string) ([]projections.ChangeItem, error)
	RegisterAsOf(ctx context.Context, at projections.AsOf, f projections.PartyFilter) ([]projections.PartyView, error)
	PartyAsOf(ctx context.Context, at projections.AsOf, id string) (projections.PartyView, error)
	WaitFor(ctx context.Context, position int64) error
}

// EventLog is the part of the event store the audit trail reads
// (implemented by every eventstore.Store).
type EventLog interface {
	ReadAll(ctx context.Context, after int64, limit int) ([]eventstore.Event, error)
	Head(ctx context.Context) (position int64, hash string, err error)
}

// positionReader is implemented by stores that fetch scattered positions in
// one query (the SQLite store); others are read run by run.
type positionReader interface {
	ReadPositions(ctx context.Context, positions []int64) ([]eventstore.Event, error)
}

// Checkpoints serves the signed checkpoints of the log.
type Checkpoints interface {
	// LatestCheckpoint returns the latest signed note; ok is false if none
	// has been made.
	LatestCheckpoint(ctx context.Context) (note string, ok bool, err error)
	// MakeCheckpoint signs a checkpoint of the head now (if it moved) and
	// returns the latest note; ok is false for an empty log.
	MakeCheckpoint(ctx context.Context) (note string, ok bool, err error)
	// PublicKey is the verifier key of the signatures.
	PublicKey() string
}

// Audit holds the audit trail's dependencies. Set [Server].Audit to serve
// the audit routes and the as_of parameter of the register.
type Audit struct {
	Index AuditIndex
	Log   EventLog
	// Verify walks the whole log (see package verify).
	Verify func(ctx context.Context) (verify.Result, error)
	// Checkpoints may be nil: then the checkpoint routes answer 404.
	Checkpoints Checkpoints
	// CatchUp bounds how long a query waits for the read model to apply
	// the log up to its head; zero means 5 s.
	CatchUp time.Duration
}

func (s *Server) auditRoutes() []route {
	if s.Audit == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/events", auth.PermAudit, s.handleEvents},
		{"GET", "/api/v1/parties/{id}/history", auth.PermAudit, s.handlePartyHistory},
		{"GET", "/api/v1/parties/{id}/requirements/{rid}/history", auth.PermAudit, s.handleRequirementHistory},
		{"GET", "/api/v1/audit/verify", auth.PermAudit, s.handleVerify},
		{"GET", "/api/v1/audit/checkpoint", auth.PermAudit, s.handleCheckpoint},
		{"POST", "/api/v1/audit/checkpoints", auth.PermAudit, s.handleCheckpointCreate},
		{"GET", "/api/v1/audit/public-key", auth.PermAudit, s.handlePublicKey},
	}
}

// catchUp waits until the read model has applied the log up to its head,
// so that the audit trail shows every event acknowledged before the
// request.
func (s *Server) catchUp(ctx context.Context) error {
	head, _, err := s.Audit.Log.Head(ctx)
	if err != nil {
		return err
	}
	d := s.Audit.CatchUp
	if d <= 0 {
		d = 5 * time.Second
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := s.Audit.Index.WaitFor(wctx, head); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logger().Warn("audit: read model behind the log", "head", head, "err", err)
		return problemf(codeUnavailable, "the audit index is catching up with the log; retry shortly")
	}
	return nil
}

// EventsResponse is the body of GET /api/v1/events.
type EventsResponse struct {
	Events []eventstore.Event `json:"events"`
	// Next is the cursor of the next page (pass it as after), nil on the last.
	Next *string `json:"next"`
}

var eventParams = []string{"party", "requirement", "stream", "type", "actor", "trigger", "from", "to", "after", "limit"}

// EventFilterFromQuery reads the audit trail's filter parameters. It
// refuses unknown or repeated parameters, so that a typo cannot silently
// widen an auditor's query.
func EventFilterFromQuery(q url.Values) (projections.EventFilter, error) {
	var f projections.EventFilter
	var bad []domain.FieldError
	for k, vs := range q {
		if !contains(eventParams, k) {
			bad = append(bad, domain.FieldError{Field: k, Message: "unknown parameter"})
		} else if len(vs) > 1 {
			bad = append(bad, domain.FieldError{Field: k, Message: "give it once"})
		}
	}
	f.Party, f.Requirement, f.Stream = q.Get("party"), q.Get("requirement"), q.Get("stream")
	f.Type, f.Actor, f.Trigger = q.Get("type"), q.Get("actor"), q.Get("trigger")
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				bad = append(bad, domain.FieldError{Field: p.name, Message: "must be an RFC 3339 time such as 2026-01-31T09:00:00Z"})
			}
			*p.dst = t.UTC()
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = append(bad, domain.FieldError{Field: "after", Message: "must be a position >= 0 (the next cursor of the previous page)"})
		}
		f.After = n
	}
	f.Limit = projections.DefaultEventLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > projections.MaxEventLimit {
			bad = append(bad, domain.FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", projections.MaxEventLimit)})
		}
		f.Limit = n
	}
	if len(bad) > 0 {
		return f, &domain.Error{Code: domain.EINVALID, Message: "invalid query parameter", Fields: bad}
	}
	return f, f.Validate()
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := EventFilterFromQuery(r.URL.Query())
	if err != nil {
		return err
	}
	if err := s.catchUp(r.Context()); err != nil {
		return err
	}
	positions, more, err := s.Audit.Index.EventPositions(r.Context(), f)
	if err != nil {
		return err
	}
	evs, err := ReadPositions(r.Context(), s.Audit.Log, positions)
	if err != nil {
		return err
	}
	resp := EventsResponse{Events: evs}
	if resp.Events == nil {
		resp.Events = []eventstore.Event{}
	}
	if more {
		next := strconv.FormatInt(positions[len(positions)-1], 10)
		resp.Next = &next
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// ReadPositions returns the events at positions (ascending) from log: in
// one query when the store can, else run by run of consecutive positions.
// Every position must be found: the audit index only names stored events,
// so a missing one means the log lost events behind the index's back.
func ReadPositions(ctx context.Context, log EventLog, positions []int64) ([]eventstore.Event, error) {
	if len(positions) == 0 {
		return nil, nil
	}
	var evs []eventstore.Event
	if pr, ok := log.(positionReader); ok {
		var err error
		if evs, err = pr.ReadPositions(ctx, positions); err != nil {
			return nil, err
		}
	} else {
		for i := 0; i < len(positions); {
			j := i + 1
			for j < len(positions) && positions[j] == positions[j-1]+1 {
				j++
			}
			run, err := log.ReadAll(ctx, positions[i]-1, j-i)
			if err != nil {
				return nil, err
			}
			evs = append(evs, run...)
			i = j
		}
	}
	if len(evs) != len(positions) {
		return nil, fmt.Errorf("audit: the index names %d events, the log has %d of them: verify the log", len(positions), len(evs))
	}
	for i := range evs {
		if evs[i].Position != positions[i] {
			return nil, fmt.Errorf("audit: the index names position %d, the log gave %d: verify the log", positions[i], evs[i].Position)
		}
	}
	return evs, nil
}

// HistoryResponse is the body of the history routes.
type HistoryResponse struct {
	PartyID       string                   `json:"party_id"`
	RequirementID string                   `json:"requirement_id,omitempty"`
	History       []projections.ChangeItem `json:"history"`
}

func (s *Server) handlePartyHistory(w http.ResponseWriter, r *http.Request) error {
	return s.writeHistory(w, r, r.PathValue("id"), "")
}

func (s *Server) handleRequirementHistory(w http.ResponseWriter, r *http.Request) error {
	return s.writeHistory(w, r, r.PathValue("id"), r.PathValue("rid"))
}

func (s *Server) writeHistory(w http.ResponseWriter, r *http.Request, party, req string) error {
	if err := s.catchUp(r.Context()); err != nil {
		return err
	}
	items, err := s.Audit.Index.History(r.Context(), party, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, HistoryResponse{PartyID: party, RequirementID: req, History: items})
	return nil
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) error {
	res, err := s.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	if !res.OK {
		s.logger().Error("audit: the event log failed verification",
			"position", res.FirstFailure.Position, "reason", res.FirstFailure.Reason)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) checkpoints() (Checkpoints, error) {
	if s.Audit.Checkpoints == nil {
		return nil, problemf(domain.ENOTFOUND, "this server makes no signed checkpoints")
	}
	return s.Audit.Checkpoints, nil
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text))
}

func (s *Server) handleCheckpoint(w http.ResponseWriter, r *http.Request) error {
	cps, err := s.checkpoints()
	if err != nil {
		return err
	}
	note, ok, err := cps.LatestCheckpoint(r.Context())
	if err != nil {
		return err
	}
	if !ok {
		return problemf(domain.ENOTFOUND, "no checkpoint has been signed yet")
	}
	writeText(w, http.StatusOK, note)
	return nil
}

func (s *Server) handleCheckpointCreate(w http.ResponseWriter, r *http.Request) error {
	cps, err := s.checkpoints()
	if err != nil {
		return err
	}
	note, ok, err := cps.MakeCheckpoint(r.Context())
	if err != nil {
		return err
	}
	if !ok {
		return problemf(domain.ECONFLICT, "the log is empty: there is nothing to sign")
	}
	writeText(w, http.StatusCreated, note)
	return nil
}

func (s *Server) handlePublicKey(w http.ResponseWriter, r *http.Request) error {
	cps, err := s.checkpoints()
	if err != nil {
		return err
	}
	writeText(w, http.StatusOK, cps.PublicKey()+"\n")
	return nil
}

// asOf returns the as_of parameter of r on the axis parameter's axis
// (recorded by default, or effective); ok is false when there is no as_of.
// It fails when as_of is given but this server has no audit trail.
func (s *Server) asOf(r *http.Request) (at projections.AsOf, ok bool, err error) {
	v, has := r.URL.Query()["as_of"]
	if !has {
		return at, false, nil
	}
	if s.Audit == nil {
		return at, false, badParam("as_of", "this server does not keep the audit trail")
	}
	if len(v) != 1 {
		return at, false, badParam("as_of", "give it once")
	}
	if at, err = projections.ParseAsOf("as_of", v[0]); err != nil {
		return at, false, err
	}
	axis, err := projections.ParseAxis("axis", r.URL.Query().Get("axis"))
	if err != nil {
		return at, false, err
	}
	at, err = at.WithAxis("axis", axis)
	return at, err == nil, err
}

// eachRegisterParty walks one page of the register (pg.Limit 0: all of it),
// live from the read model or, with as_of, folded from the log; see
// [projections.ReadModel.EachRegisterParty] and [projections.PageRegister].
func (s *Server) eachRegisterParty(r *http.Request, f projections.PartyFilter, pg projections.Page, fn func(projections.PartyView) error) (projections.Cursor, error) {
	at, ok, err := s.asOf(r)
	if err != nil {
		return projections.Cursor{}, err
	}
	if !ok && pg.Limit > 0 {
		return s.Reads.EachRegisterParty(r.Context(), f, pg, fn)
	}
	if !ok {
		return projections.Cursor{}, s.eachRegisterChunk(r, f, fn)
	}
	// No wait for the read model: the fold reads the log itself, and reads
	// past the audit index when the index lags.
	ps, err := s.Audit.Index.RegisterAsOf(r.Context(), at, f)
	if err != nil {
		return projections.Cursor{}, err
	}
	ps, next := projections.PageRegister(ps, pg)
	for _, p := range ps {
		if err := fn(p); err != nil {
			return projections.Cursor{}, err
		}
	}
	return next, nil
}

// registerChunk is how many parties eachRegisterChunk reads at a time.
var registerChunk = projections.MaxPageLimit

// eachRegisterChunk walks the whole live register (the CSV export) in
// chunks of registerChunk parties, each read in full before
// any of it is written: memory stays one chunk, and a slow client never
// holds one of the read model's few pooled connections (or an open read
// transaction) while it drains the response. Like a page walk, the chunks
// are not one snapshot: a party renamed during the export can move across
// a chunk boundary.
func (s *Server) eachRegisterChunk(r *http.Request, f projections.PartyFilter, fn func(projections.PartyView) error) error {
	pg := projections.Page{Limit: registerChunk}
	chunk := make([]projections.PartyView, 0, pg.Limit)
	for {
		chunk = chunk[:0]
		next, err := s.Reads.EachRegisterParty(r.Context(), f, pg, func(p projections.PartyView) error {
			chunk = append(chunk, p)
			return nil
		})
		if err != nil {
			return err
		}
		for _, p := range chunk {
			if err := fn(p); err != nil {
				return err
			}
		}
		if next.IsZero() {
			return nil
		}
		pg.After = next
	}
}

// writePartyAsOf answers GET /api/v1/parties/{id}?as_of=: the party as it
// stood then, folded from its stream. There is no ETag: it is not the
// current version.
func (s *Server) writePartyAsOf(w http.ResponseWriter, r *http.Request, id string) error {
	at, _, err := s.asOf(r)
	if err != nil {
		return err
	}
	p, err := s.Audit.Index.PartyAsOf(r.Context(), at, id)
	if err != nil {
		return err
	}
	if p.Requirements == nil {
		p.Requirements = []projections.RequirementView{}
	}
	if s.Relationships != nil {
		rels, err := s.Relationships.RelationshipsAsOf(r.Context(), at, projections.RelationshipFilter{PartyID: p.ID})
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, partyWithRelationships{PartyView: p, Relationships: rels})
		return nil
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
