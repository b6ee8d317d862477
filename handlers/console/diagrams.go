package console

import (
	"html/template"
	"net/http"
	"net/url"
	"time"

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
	apiReq, err := diagramQuery(r)
	if err != nil {
		return err
	}
	m, err := s.Diagrams.RelationshipMap(apiReq)
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
	apiReq, err := diagramQuery(r)
	if err != nil {
		return err
	}
	g, err := s.Diagrams.PowerInterestGrid(apiReq)
	if err != nil {
		return err
	}
	g.Link = partyLink
	return s.renderDiagram(w, r, "power-interest", "Power–interest grid", g.SVG())
}

// diagramQuery turns the page's form into the API's query: empty fields
// (the form sends every field) are dropped, and as_of=YYYY-MM-DD becomes the
// end of that day, as on the register page.
func diagramQuery(r *http.Request) (*http.Request, error) {
	q := r.URL.Query()
	for k, v := range q {
		if len(v) == 1 && v[0] == "" {
			q.Del(k)
		}
	}
	if d := q.Get("as_of"); d != "" {
		_, at, err := registerQuery(url.Values{"as_of": {d}})
		if err != nil {
			return nil, err
		}
		q.Set("as_of", at.Time.Format(time.RFC3339Nano))
	}
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	return r2, nil
}

func (s *Server) renderDiagram(w http.ResponseWriter, r *http.Request, which, title string, svg []byte) error {
	q := r.URL.Query()
	// The renderer escapes every name and label it writes and emits no
	// script or style element, so its SVG is safe to inline.
	p := diagramPage{Which: which, SVG: template.HTML(svg), Categories: domain.Categories,
		Category: q.Get("category"), PartyID: q.Get("party_id"), Since: q.Get("since"), AsOf: q.Get("as_of")}
	return s.render(w, r, http.StatusOK, "diagrams", title, p)
}
