package console

import (
	"html/template"
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/diagrams"
)

// Diagrams builds the relationship map and the power–interest grid from a
// request's query, as the API's diagram routes do (implemented by
// *httpapi.Server), so the console draws the same pictures.
type Diagrams interface {
	RelationshipMap(r *http.Request) (diagrams.Map, error)
	PowerInterestGrid(r *http.Request) (diagrams.Grid, error)
}

type diagramPage struct {
	Which      string // "relationships" or "power-interest"
	SVG        template.HTML
	Categories []string
	Category   string
	PartyID    string
	Since      string
	AsOf       string
}

// partyLink links a diagram's party to its page.
func partyLink(id string) string { return "/parties/" + id }

// handleDiagramRelationships draws the relationship map inline: parties by
// scope and category, parent links and relationships as labelled arrows,
// each name a link to its party; since=last-review highlights what changed.
func (s *Server) handleDiagramRelationships(w http.ResponseWriter, r *http.Request) error {
	if s.Diagrams == nil {
		return domain.Errorf(domain.ENOTFOUND, "diagrams are not enabled on this server")
	}
	m, err := s.Diagrams.RelationshipMap(r)
	if err != nil {
		return err
	}
	m.Link = partyLink
	return s.renderDiagram(w, r, "relationships", "Relationship map", m.SVG())
}

// handleDiagramPowerInterest draws the influence × interest grid inline.
func (s *Server) handleDiagramPowerInterest(w http.ResponseWriter, r *http.Request) error {
	if s.Diagrams == nil {
		return domain.Errorf(domain.ENOTFOUND, "diagrams are not enabled on this server")
	}
	g, err := s.Diagrams.PowerInterestGrid(r)
	if err != nil {
		return err
	}
	g.Link = partyLink
	return s.renderDiagram(w, r, "power-interest", "Power–interest grid", g.SVG())
}

func (s *Server) renderDiagram(w http.ResponseWriter, r *http.Request, which, title string, svg []byte) error {
	q := r.URL.Query()
	// The renderer escapes every name and label it writes and emits no
	// script or style element, so its SVG is safe to inline.
	p := diagramPage{Which: which, SVG: template.HTML(svg), Categories: domain.Categories,
		Category: q.Get("category"), PartyID: q.Get("party_id"), Since: q.Get("since"), AsOf: q.Get("as_of")}
	return s.render(w, r, http.StatusOK, "diagrams", title, p)
}
