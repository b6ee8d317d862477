package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/reminders"
)

// Reminders serves owner contacts and the reminder digests (implemented by
// *reminders.Service).
type Reminders interface {
	// SetOwnerContacts replaces an owner's addresses (EINVALID for bad ones).
	SetOwnerContacts(ctx context.Context, owner string, emails []string, meta domain.Meta) (reminders.Owner, error)
	// Owners lists owners with contacts and owner names in use without any.
	Owners(ctx context.Context) ([]reminders.Owner, error)
	// Due lists what is due per owner now ("" for every owner).
	Due(ctx context.Context, owner string) ([]reminders.OwnerItems, error)
	// Run sends (or, dry, lists) the digests now; it returns an error
	// matching [reminders.ErrNoMailer] for a real run without SMTP.
	Run(ctx context.Context, o reminders.RunOptions) (reminders.Report, error)
	// Outcomes lists recorded digests, newest first.
	Outcomes(ctx context.Context, limit int) ([]reminders.Outcome, error)
}

func (s *Server) reminderRoutes() []route {
	if s.Reminders == nil {
		return nil
	}
	return []route{
		{"GET", "/api/v1/owners", auth.PermRead, s.handleOwnerList},
		{"PUT", "/api/v1/owners/{name}", auth.PermAdmin, s.handleOwnerContactsSet},
		{"GET", "/api/v1/reminders", auth.PermRead, s.handleReminderList},
		{"GET", "/api/v1/reminders/due", auth.PermRead, s.handleRemindersDue},
		{"POST", "/api/v1/reminders/run", auth.PermAdmin, s.handleRemindersRun},
	}
}

func (s *Server) handleOwnerList(w http.ResponseWriter, r *http.Request) error {
	owners, err := s.Reminders.Owners(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"owners": owners})
	return nil
}

func (s *Server) handleOwnerContactsSet(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "emails", "reason", "trigger")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	if !d.has("emails") {
		d.fail("emails", "is required (a list of e-mail addresses; [] removes them)")
	}
	emails := d.strings("emails")
	md := meta(r, d)
	if err := d.err(); err != nil {
		return err
	}
	o, err := s.Reminders.SetOwnerContacts(r.Context(), r.PathValue("name"), emails, md)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) handleReminderList(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return problemf(domain.EINVALID, "invalid query", domain.FieldError{Field: "limit", Message: "must be between 1 and 1000"})
		}
		limit = n
	}
	outs, err := s.Reminders.Outcomes(r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reminders": outs})
	return nil
}

func (s *Server) handleRemindersDue(w http.ResponseWriter, r *http.Request) error {
	due, err := s.Reminders.Due(r.Context(), r.URL.Query().Get("owner"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"owners": due})
	return nil
}

func (s *Server) handleRemindersRun(w http.ResponseWriter, r *http.Request) error {
	dry := false
	switch v := r.URL.Query().Get("dry_run"); v {
	case "", "false":
	case "true":
		dry = true
	default:
		return problemf(domain.EINVALID, "invalid query", domain.FieldError{Field: "dry_run", Message: "must be true or false"})
	}
	// No body, or an empty JSON object.
	if r.ContentLength != 0 && r.Body != nil {
		peek, err := io.ReadAll(io.LimitReader(r.Body, 1))
		if err != nil {
			return problemf(domain.EINVALID, "could not read the body")
		}
		if len(peek) > 0 {
			r.Body = io.NopCloser(io.MultiReader(strings.NewReader(string(peek)), r.Body))
			if _, err := readBody(r); err != nil {
				return err
			}
		}
	}
	rep, err := s.Reminders.Run(r.Context(), reminders.RunOptions{DryRun: dry, Owner: r.URL.Query().Get("owner"),
		Actor: tokenFrom(r.Context()).Name})
	if errors.Is(err, reminders.ErrNoMailer) {
		return problemf(codeUnavailable, "no SMTP server is configured (serve --smtp-addr); only dry runs are possible")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}
