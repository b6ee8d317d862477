package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/commands"
	"github.com/partyledger/partyledger/handlers/importer"
	"github.com/partyledger/partyledger/projections"
)

// Imports brings spreadsheets in and writes the register out as one
// (implemented by *commands.Service).
type Imports interface {
	// Import plans the table and, unless dryRun or the plan has errors,
	// appends it atomically (see [commands.Service.Import]).
	Import(ctx context.Context, t *importer.Table, opts importer.Options, dryRun bool, active commands.ActiveParties) (*importer.Plan, commands.Result, error)
	// LoadParty folds one party from its stream (for the XLSX export).
	LoadParty(ctx context.Context, id domain.PartyID) (*domain.Party, error)
}

// MaxImportBytes is the largest import request accepted (413 beyond): a
// spreadsheet of importer.MaxRows rows fits well within it.
const MaxImportBytes = 32 << 20

func (s *Server) importRoutes() []route {
	if s.Imports == nil {
		return nil
	}
	return []route{
		{"POST", "/api/v1/imports", auth.PermWrite, s.handleImport},
	}
}

// ImportRequest is an import as the edges (API and console) receive it.
type ImportRequest struct {
	Filename      string
	File          []byte
	Sheet         string
	Mapping       string // JSON, see importer.ParseMapping
	Reason        string
	RetireMissing bool
	DryRun        bool
}

// handleImport takes a multipart upload (field file, and optionally sheet,
// mapping, reason, retire_missing) and answers with the plan: 200 when it
// was written (or dry_run=true), 422 with the same body when any row has an
// error (nothing is written).
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	dry, err := boolParam(q.Get("dry_run"), "dry_run")
	if err != nil {
		return err
	}
	req, err := ReadImportForm(w, r)
	if err != nil {
		return err
	}
	req.DryRun = dry
	plan, err := RunImport(r.Context(), s.Imports, s.Reads, req, domain.Meta{Actor: tokenFrom(r.Context()).Name,
		CorrelationID: r.Header.Get(headerCorrelationID)})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if len(plan.Errors) > 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, plan)
	return nil
}

// boolParam reads an optional true/false parameter.
func boolParam(v, name string) (bool, error) {
	switch v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, badParam(name, "must be true or false")
}

// ReadImportForm reads a multipart/form-data import request within
// [MaxImportBytes]. The console and the API share it. dataField, when
// given, names a form field that may carry the file base64-encoded
// instead (the console's confirm form, which re-sends the previewed file).
func ReadImportForm(w http.ResponseWriter, r *http.Request, dataField ...string) (ImportRequest, error) {
	var req ImportRequest
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return req, problemf(codeUnsupportedMedia, "the body must be multipart/form-data with a field file")
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxImportBytes)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, problemf(codeTooLarge, fmt.Sprintf("the upload is larger than %d bytes", MaxImportBytes))
		}
		return req, problemf(domain.EINVALID, "the body is not a readable multipart form")
	}
	defer r.MultipartForm.RemoveAll()
	f, fh, err := r.FormFile("file")
	switch {
	case err == nil:
		defer f.Close()
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, f); err != nil {
			return req, problemf(domain.EINVALID, "could not read the file")
		}
		req.File, req.Filename = buf.Bytes(), filepath.Base(fh.Filename)
	case len(dataField) > 0 && r.FormValue(dataField[0]) != "":
		if req.File, err = base64.StdEncoding.DecodeString(r.FormValue(dataField[0])); err != nil {
			return req, problemf(domain.EINVALID, "the form's file is not valid base64")
		}
		req.Filename = filepath.Base(r.FormValue("filename"))
	default:
		return req, problemf(domain.EINVALID, "the form has no file", domain.FieldError{Field: "file", Message: "is required: an .xlsx or .csv file"})
	}
	req.Sheet, req.Mapping, req.Reason = r.FormValue("sheet"), r.FormValue("mapping"), r.FormValue("reason")
	if req.RetireMissing, err = boolParam(r.FormValue("retire_missing"), "retire_missing"); err != nil {
		return req, err
	}
	return req, nil
}

// PartyLister lists parties (implemented by *projections.ReadModel).
type PartyLister interface {
	Parties(ctx context.Context, f projections.PartyFilter) ([]projections.PartyView, error)
}

// RunImport reads the file and runs the import through the command path.
// meta carries the actor and correlation id; the reason defaults to
// "import of <filename>". A file the reader cannot open at all is a plan
// with errors, as a bad row is.
func RunImport(ctx context.Context, im Imports, parties PartyLister, req ImportRequest, meta domain.Meta) (*importer.Plan, error) {
	m, err := importer.ParseMapping([]byte(req.Mapping))
	if err != nil {
		return nil, problemf(domain.EINVALID, "the mapping is not valid", domain.FieldError{Field: "mapping", Message: err.Error()})
	}
	t, err := importer.Read(bytes.NewReader(req.File), importer.Input{Filename: req.Filename, Sheet: req.Sheet, Mapping: m})
	if err != nil {
		return nil, problemf(domain.EINVALID, "the file could not be read", domain.FieldError{Field: "file", Message: err.Error()})
	}
	active := func(ctx context.Context) ([]domain.PartyID, error) {
		ps, err := parties.Parties(ctx, projections.PartyFilter{})
		if err != nil {
			return nil, err
		}
		ids := make([]domain.PartyID, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, domain.PartyID(p.ID))
		}
		return ids, nil
	}
	plan, _, err := im.Import(ctx, t, importer.Options{Actor: meta.Actor, Reason: req.Reason,
		CorrelationID: meta.CorrelationID, RetireMissing: req.RetireMissing}, req.DryRun, active)
	return plan, err
}

// handleRegisterXLSX answers GET /api/v1/register?format=xlsx: the active
// register (filtered as the JSON one) in the columns the importer reads,
// each party folded from its stream. The workbook is built in memory (it
// needs its sheet's dimension before the rows), then sent. as_of is
// refused: the export is of the current register.
func (s *Server) handleRegisterXLSX(w http.ResponseWriter, r *http.Request, f projections.PartyFilter) error {
	if _, has := r.URL.Query()["as_of"]; has {
		return badParam("as_of", "is not supported with format=xlsx; export the current register")
	}
	var parties []*domain.Party
	err := s.eachRegisterChunk(r, f, func(v projections.PartyView) error {
		p, err := s.Imports.LoadParty(r.Context(), domain.PartyID(v.ID))
		if err != nil {
			return err
		}
		parties = append(parties, p)
		return nil
	})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := importer.WriteXLSX(&buf, parties, time.Now().UTC()); err != nil {
		return fmt.Errorf("register xlsx: %w", err)
	}
	w.Header().Set("Content-Type", XLSXContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="register.xlsx"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}

// XLSXContentType is the media type of an XLSX workbook.
const XLSXContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
