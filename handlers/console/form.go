package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/domain"
)

// maxFormBytes bounds a form body.
const maxFormBytes = 64 << 10

// parseForm reads a urlencoded form body of at most maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return &domain.Error{Code: domain.EINVALID, Message: "the form could not be read"}
	}
	return nil
}

// fieldErrors maps an EINVALID error to messages by field, for showing
// each beside its control; ok is false for any other error.
func fieldErrors(err error) (msgs map[string]string, ok bool) {
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != domain.EINVALID {
		return nil, false
	}
	msgs = map[string]string{}
	for _, f := range de.Fields {
		msgs[f.Field] = f.Message
	}
	if len(msgs) == 0 {
		msgs[""] = de.Message
	}
	return msgs, true
}

// formInt parses an optional 1-5 level; bad input is a field error.
func formInt(v, field string, errs map[string]string) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		errs[field] = "must be a whole number"
		return 0
	}
	return n
}

// formVersion parses the hidden version field of an edit form.
func formVersion(v string) (*int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return nil, &domain.Error{Code: domain.EINVALID, Message: "the form is missing its version; reload the page"}
	}
	return &n, nil
}

// meta builds the command metadata: the actor from the session (never from
// the form), reason, trigger and the optional effective date from the form
// (checked, like the API's, by the command pipeline).
func meta(r *http.Request) domain.Meta {
	return domain.Meta{
		Actor:       userFrom(r.Context()).Name,
		Reason:      strings.TrimSpace(r.PostForm.Get("reason")),
		Trigger:     r.PostForm.Get("trigger"),
		EffectiveOn: strings.TrimSpace(r.PostForm.Get("effective_on")),
	}
}

func invalid(errs map[string]string) error {
	if len(errs) == 0 {
		return nil
	}
	e := &domain.Error{Code: domain.EINVALID, Message: "invalid form"}
	for f, m := range errs {
		e.Fields = append(e.Fields, domain.FieldError{Field: f, Message: m})
	}
	return e
}
