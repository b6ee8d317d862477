package console

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/reminders"
	"github.com/partyledger/partyledger/projections"
)

// ReminderLog reads the recorded reminder digests (implemented by
// *projections.ReadModel), for the dashboard.
type ReminderLog interface {
	// ReminderFailures lists, per owner, the last reminder.failed that no
	// later digest to that owner followed, newest first.
	ReminderFailures(ctx context.Context, w projections.Window) ([]projections.ReminderView, error)
	// LastReminderSent returns the last reminder.sent, false when none.
	LastReminderSent(ctx context.Context) (projections.ReminderView, bool, error)
}

// ownerRow is one owner of the owners page, with its form's state.
type ownerRow struct {
	reminders.Owner
	Key    string // domain.OwnerKey: the row's id and its form's control ids
	Typed  string // the addresses as typed, one per line (the form's value)
	Errors []string
	Open   bool // the form opens (after an error)
	Saved  bool // just saved
	Reason string
}

type ownersPage struct {
	Owners []ownerRow
	Gaps   int // owners in use without an address
}

// handleOwners lists every owner name in use with its e-mail addresses,
// those without any marked as gaps; admins get a form per owner.
func (s *Server) handleOwners(w http.ResponseWriter, r *http.Request) error {
	pg, err := s.ownersPage(r.Context(), r.URL.Query().Get("saved"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "owners", "Owners and their contacts", pg)
}

func (s *Server) ownersPage(ctx context.Context, saved string) (*ownersPage, error) {
	owners, err := s.Reminders.Owners(ctx)
	if err != nil {
		return nil, err
	}
	pg := &ownersPage{Owners: make([]ownerRow, 0, len(owners))}
	for _, o := range owners {
		row := ownerRow{Owner: o, Key: domain.OwnerKey(o.Name), Typed: strings.Join(o.Emails, "\n")}
		row.Saved = saved != "" && saved == row.Key
		if len(o.Emails) == 0 {
			pg.Gaps++
		}
		pg.Owners = append(pg.Owners, row)
	}
	return pg, nil
}

// handleOwnerContactsSet takes one owner's form. It goes through the same
// call, validation and permission (admin) as PUT /api/v1/owners/{name}: an
// address that does not parse writes nothing and comes back beside the
// form.
func (s *Server) handleOwnerContactsSet(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	owner := strings.TrimSpace(r.PostForm.Get("owner"))
	typed := r.PostForm.Get("emails")
	emails := splitEmails(typed)
	o, err := s.Reminders.SetOwnerContacts(r.Context(), owner, emails, meta(r))
	if err == nil {
		key := domain.OwnerKey(o.Name)
		http.Redirect(w, r, "/owners?saved="+url.QueryEscape(key)+"#owner-"+key, http.StatusSeeOther)
		return nil
	}
	msgs, ok := fieldErrors(err)
	if !ok {
		return err
	}
	pg, perr := s.ownersPage(r.Context(), "")
	if perr != nil {
		return perr
	}
	key := domain.OwnerKey(owner)
	found := false
	for i := range pg.Owners {
		if pg.Owners[i].Key == key {
			found = true
			pg.Owners[i].Typed, pg.Owners[i].Open = typed, true
			pg.Owners[i].Errors = fieldMessages(msgs, emails)
			pg.Owners[i].Reason = r.PostForm.Get("reason")
		}
	}
	if !found {
		return err
	}
	return s.render(w, r, http.StatusUnprocessableEntity, "owners", "Owners and their contacts", pg)
}

// splitEmails splits what was typed into the addresses field: one per
// line, or separated by commas or semicolons; blank entries are dropped.
// An empty field removes the owner's addresses.
func splitEmails(typed string) []string {
	out := []string{}
	for _, f := range strings.FieldsFunc(typed, func(r rune) bool { return r == '\n' || r == ',' || r == ';' }) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

var emailsField = regexp.MustCompile(`^emails\[(\d+)\]$`)

// fieldMessages words the validation errors of an owner's form: an
// address by what was typed ("“bob@” must be …"), anything else as given.
func fieldMessages(msgs map[string]string, emails []string) []string {
	var out []string
	for i, e := range emails {
		if m, ok := msgs["emails["+strconv.Itoa(i)+"]"]; ok {
			out = append(out, "“"+e+"” "+m)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(msgs)) {
		if emailsField.MatchString(f) {
			continue
		}
		m := msgs[f]
		if f != "" {
			m = label(f) + " " + m
		}
		out = append(out, m)
	}
	return out
}

// dashboardReminders is the dashboard's reminders card: the owners whose
// last digest failed and the last digest sent.
type dashboardReminders struct {
	Failures []projections.ReminderView
	LastSent *projections.ReminderView
}

func (s *Server) dashboardReminders(ctx context.Context) (*dashboardReminders, error) {
	if s.ReminderLog == nil {
		return nil, nil
	}
	fails, err := s.ReminderLog.ReminderFailures(ctx, projections.Window{})
	if err != nil {
		return nil, err
	}
	d := &dashboardReminders{Failures: fails}
	if v, ok, err := s.ReminderLog.LastReminderSent(ctx); err != nil {
		return nil, err
	} else if ok {
		d.LastSent = &v
	}
	return d, nil
}

// reminderSentLine is how the console shows a reminder digest in a
// history: "Reminder sent to DPO (dpo@example.com) on 1 Dec 2026".
func reminderSentLine(owner string, recipients []string, at time.Time) string {
	return "Reminder sent to " + owner + " (" + strings.Join(recipients, ", ") + ") on " + fmtDate(at)
}

// CanAdmin reports whether the user may administer: set owner contacts,
// as the API's admin routes.
func (u User) CanAdmin() bool { return auth.Allowed(u.Role, auth.PermAdmin) }
