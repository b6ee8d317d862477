package console

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/handlers/importer"
	"github.com/partyledger/partyledger/projections"
)

// importPage is the upload form, the dry-run preview with its confirm
// button, or the result of a confirmed import.
type importPage struct {
	Plan      *importer.Plan
	Confirmed bool   // the plan was written
	Error     string // a request the importer could not take (too large, no file)
	// The upload, carried in the preview's confirm form so that the
	// confirmation imports exactly the file that was previewed.
	Filename, FileData, Sheet, Mapping, Reason string
	RetireMissing                              bool
}

// handleImportForm shows the upload form.
func (s *Server) handleImportForm(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, http.StatusOK, "import", "Import a spreadsheet", importPage{})
}

// handleImport previews an upload (a dry run through the API's command
// path) or, with confirm=yes, imports it. The confirm form carries the
// previewed file (base64) so that what is written is what was shown.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) error {
	req, err := httpapi.ReadImportForm(w, r, "file_data")
	if err != nil {
		var de *domain.Error
		status, msg := http.StatusBadRequest, "The upload could not be read."
		if errors.As(err, &de) {
			msg = de.Message
			if de.Code == "too_large" {
				status = http.StatusRequestEntityTooLarge
			}
		}
		return s.render(w, r, status, "import", "Import a spreadsheet", importPage{Error: msg})
	}
	req.DryRun = r.FormValue("confirm") != "yes"
	plan, err := httpapi.RunImport(r.Context(), s.Imports, registerLister{s.Reads}, req,
		domain.Meta{Actor: userFrom(r.Context()).Name})
	if err != nil {
		return err
	}
	p := importPage{Plan: plan, Confirmed: !req.DryRun && len(plan.Errors) == 0,
		Filename: req.Filename, Sheet: req.Sheet, Mapping: req.Mapping, Reason: req.Reason, RetireMissing: req.RetireMissing}
	if req.DryRun && len(plan.Errors) == 0 && len(plan.Items) > 0 {
		p.FileData = base64.StdEncoding.EncodeToString(req.File)
	}
	status := http.StatusOK
	if len(plan.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(w, r, status, "import", "Import a spreadsheet", p)
}

// handleRegisterXLSX downloads the current register (with the page's
// filters) as the importer's workbook.
func (s *Server) handleRegisterXLSX(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f, at, err := registerQuery(q)
	if err != nil {
		return err
	}
	if at != nil {
		return &domain.Error{Code: domain.EINVALID, Message: "the XLSX download is of the current register; remove the as-of date"}
	}
	ps, err := s.register(r.Context(), f, nil)
	if err != nil {
		return err
	}
	ps = filterParties(ps, q.Get("q"), q.Get("sort"))
	parties := make([]*domain.Party, 0, len(ps))
	for _, v := range ps {
		p, err := s.Imports.LoadParty(r.Context(), domain.PartyID(v.ID))
		if err != nil {
			return err
		}
		parties = append(parties, p)
	}
	var buf bytes.Buffer
	if err := importer.WriteXLSX(&buf, parties, s.now()); err != nil {
		return err
	}
	w.Header().Set("Content-Type", httpapi.XLSXContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="register.xlsx"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}

// registerLister lists the active parties through the console's reads.
type registerLister struct{ r Reads }

func (l registerLister) Parties(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error) {
	return l.r.Register(ctx, f)
}
