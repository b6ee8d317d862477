package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/diagrams"
	"github.com/partyledger/partyledger/projections"
)

// Relationships is what the relationship and diagram routes need: the
// commands (implemented by *commands.Service) and the queries (implemented
// by *projections.ReadModel).
type Relationships interface {
	commands.RelationshipCommands

	Relationship(ctx context.Context, id string) (projections.RelationshipView, error)
	Relationships(ctx context.Context, f projections.RelationshipFilter) ([]projections.RelationshipView, error)
	RelationshipsSince(ctx context.Context, position int64) ([]projections.RelationshipSince, error)
	Parties(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
	// RelationshipsAsOf and RegisterAsOf read the past (as_of): the
	// diagrams and GET /parties/{id}?as_of= draw on them.
	RelationshipsAsOf(ctx context.Context, at projections.AsOf, f projections.RelationshipFilter) ([]projections.RelationshipView, error)
	RegisterAsOf(ctx context.Context, at projections.AsOf, f projections.PartyFilter) ([]projections.PartyView, error)
}

func (s *Server) relationshipRoutes() []route {
	if s.Relationships == nil {
		return nil
	}
	return []route{
		{"POST", "/api/v1/relationships", auth.PermWrite, s.handleRelationshipCreate},
		{"GET", "/api/v1/relationships", auth.PermRead, s.handleRelationshipList},
		{"GET", "/api/v1/relationships/{id}", auth.PermRead, s.handleRelationshipGet},
		{"PATCH", "/api/v1/relationships/{id}", auth.PermWrite, s.handleRelationshipRevise},
		{"POST", "/api/v1/relationships/{id}/end", auth.PermWrite, s.handleRelationshipEnd},
		{"GET", "/api/v1/diagrams/relationships", auth.PermRead, s.handleDiagramRelationships},
		{"GET", "/api/v1/diagrams/power-interest", auth.PermRead, s.handleDiagramPowerInterest},
	}
}

var relationshipFields = []string{"from_party_id", "to_party_id", "kind", "label", "description", "reason", "trigger"}

func (s *Server) handleRelationshipCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, relationshipFields...)
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	cmd := domain.EstablishRelationship{
		Meta:        meta(r, d),
		FromPartyID: domain.PartyID(d.str("from_party_id")),
		ToPartyID:   domain.PartyID(d.str("to_party_id")),
		Kind:        d.str("kind"),
		Label:       d.str("label"),
		Description: d.str("description"),
	}
	if err := d.err(); err != nil {
		return err
	}
	res, err := s.Relationships.EstablishRelationship(r.Context(), cmd)
	if err != nil {
		return err
	}
	return s.writeRelationship(w, r, strings.TrimPrefix(res.Stream, domain.RelationshipStreamPrefix), http.StatusCreated)
}

// writeRelationship answers with the relationship as the read model has it
// now (the command service has waited for it to apply the write).
func (s *Server) writeRelationship(w http.ResponseWriter, r *http.Request, id string, status int) error {
	v, err := s.Relationships.Relationship(r.Context(), id)
	if err != nil {
		return err
	}
	setETag(w, v.Version)
	if status == http.StatusCreated {
		w.Header().Set("Location", "/api/v1/relationships/"+id)
	}
	writeJSON(w, status, v)
	return nil
}

func (s *Server) handleRelationshipList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	vs, err := s.Relationships.Relationships(r.Context(), projections.RelationshipFilter{
		PartyID: q.Get("party_id"), Kind: q.Get("kind"), Status: q.Get("status")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"relationships": vs})
	return nil
}

func (s *Server) handleRelationshipGet(w http.ResponseWriter, r *http.Request) error {
	return s.writeRelationship(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *Server) handleRelationshipRevise(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "kind", "label", "description", "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.ReviseRelationship{
		Meta:           meta(r, d),
		RelationshipID: domain.RelationshipID(r.PathValue("id")),
		Kind:           d.strPtr("kind"),
		Label:          d.strPtr("label"),
		Description:    d.strPtr("description"),
	}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.Relationships.ReviseRelationship(r.Context(), cmd, expect); err != nil {
		return err
	}
	return s.writeRelationship(w, r, string(cmd.RelationshipID), http.StatusOK)
}

func (s *Server) handleRelationshipEnd(w http.ResponseWriter, r *http.Request) error {
	expect, d, err := conditionalBody(r, "reason", "trigger")
	if err != nil {
		return err
	}
	cmd := domain.EndRelationship{Meta: meta(r, d), RelationshipID: domain.RelationshipID(r.PathValue("id"))}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.Relationships.EndRelationship(r.Context(), cmd, expect); err != nil {
		return err
	}
	return s.writeRelationship(w, r, string(cmd.RelationshipID), http.StatusOK)
}

// partyWithRelationships is a party as GET /parties/{id} answers it: with
// its relationships on the current map, in both directions. Like
// requirements, the member is left out when there are none. With as_of
// they are the relationships on the map at that moment.
type partyWithRelationships struct {
	projections.PartyView
	Relationships []projections.RelationshipView `json:"relationships,omitempty"`
}

func (s *Server) writePartyWithRelationships(w http.ResponseWriter, r *http.Request, status int, p projections.PartyView) error {
	rels, err := s.Relationships.Relationships(r.Context(), projections.RelationshipFilter{PartyID: p.ID})
	if err != nil {
		return err
	}
	writeJSON(w, status, partyWithRelationships{PartyView: p, Relationships: rels})
	return nil
}

// diagramFormats are the media types of the relationship map's formats.
var diagramFormats = map[string]string{
	"svg":     "image/svg+xml",
	"dot":     "text/vnd.graphviz; charset=utf-8",
	"mermaid": "text/plain; charset=utf-8",
}

// checkDiagramQuery refuses what the diagram routes do not serve: since
// where not allowed or together with as_of, and unknown formats.
func checkDiagramQuery(r *http.Request, allowSince bool, formats ...string) (string, error) {
	q := r.URL.Query()
	format := q.Get("format")
	if format == "" {
		format = "svg"
	}
	var bad []domain.FieldError
	if !slices.Contains(formats, format) {
		bad = append(bad, domain.FieldError{Field: "format", Message: "must be one of " + strings.Join(formats, ", ")})
	}
	if q.Has("as_of") && q.Has("since") {
		bad = append(bad, domain.FieldError{Field: "as_of", Message: "give as_of or since, not both"})
	}
	if since := q.Get("since"); q.Has("since") && (!allowSince || since != "last-review" && !strings.HasPrefix(since, "review:")) {
		bad = append(bad, domain.FieldError{Field: "since", Message: "must be last-review or review:<id> (the relationship map only)"})
	}
	if len(bad) > 0 {
		return "", &domain.Error{Code: domain.EINVALID, Message: "invalid query", Fields: bad}
	}
	return format, nil
}

// handleDiagramRelationships draws the current relationship map. With
// category or party_id it draws those parties and the parties they are
// directly related to.
func (s *Server) handleDiagramRelationships(w http.ResponseWriter, r *http.Request) error {
	format, err := checkDiagramQuery(r, true, "svg", "dot", "mermaid")
	if err != nil {
		return err
	}
	m, err := s.RelationshipMap(r)
	if err != nil {
		return err
	}
	var body []byte
	switch format {
	case "dot":
		body = m.DOT()
	case "mermaid":
		body = m.Mermaid()
	default:
		body = m.SVG()
	}
	writeDiagram(w, diagramFormats[format], body)
	return nil
}

// RelationshipMap builds the relationship map the query of r asks for
// (category=, party_id=, as_of=, since=review:<id>|last-review): the API's
// diagram and the console's page draw the same map. It returns EINVALID for
// a bad query and ENOTFOUND for an unknown party_id.
func (s *Server) RelationshipMap(r *http.Request) (diagrams.Map, error) {
	m := diagrams.Map{}
	if _, err := checkDiagramQuery(r, true, "svg", "dot", "mermaid"); err != nil {
		return m, err
	}
	q := r.URL.Query()
	if c := q.Get("category"); c != "" && !slices.Contains(domain.Categories, c) {
		return m, problemf(domain.EINVALID, "invalid query", domain.FieldError{Field: "category",
			Message: "must be one of " + strings.Join(domain.Categories, ", ")})
	}
	ps, err := s.diagramParties(r)
	if err != nil {
		return m, err
	}
	rels, err := s.mapRelationships(r)
	if err != nil {
		return m, err
	}
	focus := map[string]bool{}
	category, partyID := q.Get("category"), q.Get("party_id")
	if partyID != "" {
		found := false
		for _, p := range ps {
			found = found || p.ID == partyID
		}
		if !found {
			return m, domain.Errorf(domain.ENOTFOUND, "no active party %s", partyID)
		}
	}
	for _, p := range ps {
		if (category == "" || p.Category == category) && (partyID == "" || p.ID == partyID) {
			focus[p.ID] = true
		}
	}
	filtered := category != "" || partyID != ""
	keep := map[string]bool{}
	for id := range focus {
		keep[id] = true
	}
	for _, rel := range rels {
		if !filtered || focus[rel.FromPartyID] || focus[rel.ToPartyID] {
			keep[rel.FromPartyID], keep[rel.ToPartyID] = true, true
			m.Relationships = append(m.Relationships, diagrams.Relationship{ID: rel.ID, From: rel.FromPartyID,
				To: rel.ToPartyID, Kind: rel.Kind, Label: rel.Label, Change: diagrams.Change(rel.Change)})
		}
	}
	for _, p := range ps {
		if keep[p.ID] {
			m.Parties = append(m.Parties, diagramParty(p))
		}
	}
	return m, nil
}

// handleDiagramPowerInterest draws the power–interest grid of the active
// parties.
func (s *Server) handleDiagramPowerInterest(w http.ResponseWriter, r *http.Request) error {
	if _, err := checkDiagramQuery(r, false, "svg"); err != nil {
		return err
	}
	g, err := s.PowerInterestGrid(r)
	if err != nil {
		return err
	}
	writeDiagram(w, diagramFormats["svg"], g.SVG())
	return nil
}

// PowerInterestGrid builds the power–interest grid of the active parties
// (with as_of=, as they stood then), for the API and the console.
func (s *Server) PowerInterestGrid(r *http.Request) (diagrams.Grid, error) {
	g := diagrams.Grid{}
	if _, err := checkDiagramQuery(r, false, "svg"); err != nil {
		return g, err
	}
	ps, err := s.diagramParties(r)
	if err != nil {
		return g, err
	}
	for _, p := range ps {
		g.Parties = append(g.Parties, diagramParty(p))
	}
	return g, nil
}

// diagramParties returns the active parties the diagrams draw: now, or
// with as_of as they stood then.
func (s *Server) diagramParties(r *http.Request) ([]projections.PartyView, error) {
	at, ok, err := s.asOf(r)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return s.Relationships.Parties(r.Context(), projections.PartyFilter{})
	}
	return s.Relationships.RegisterAsOf(r.Context(), at, projections.PartyFilter{})
}

// mapRelationships returns the relationships of the current map (with
// as_of, of the map at that moment); with since=, each marked with what
// happened to it after that management review, and followed by the ones
// ended since.
func (s *Server) mapRelationships(r *http.Request) ([]projections.RelationshipSince, error) {
	q := r.URL.Query()
	if at, ok, err := s.asOf(r); err != nil || ok {
		if err != nil {
			return nil, err
		}
		return unmarked(s.Relationships.RelationshipsAsOf(r.Context(), at, projections.RelationshipFilter{}))
	}
	if !q.Has("since") {
		return unmarked(s.Relationships.Relationships(r.Context(), projections.RelationshipFilter{}))
	}
	w, _, _, err := Window(r.Context(), s.Reads, q.Get("since"), "")
	if err != nil {
		return nil, err
	}
	return s.Relationships.RelationshipsSince(r.Context(), w.After)
}

// unmarked returns vs as relationships with nothing marked since.
func unmarked(vs []projections.RelationshipView, err error) ([]projections.RelationshipSince, error) {
	out := make([]projections.RelationshipSince, len(vs))
	for i, v := range vs {
		out[i].RelationshipView = v
	}
	return out, err
}

func diagramParty(p projections.PartyView) diagrams.Party {
	d := diagrams.Party{ID: p.ID, Name: p.Name, Category: p.Category, Scope: p.Scope,
		Influence: p.Influence, Interest: p.Interest}
	if p.ParentID != nil {
		d.ParentID = *p.ParentID
	}
	return d
}

func writeDiagram(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
