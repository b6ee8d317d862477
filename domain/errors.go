package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Callers branch on these through [ErrorCode], never on text.
const (
	EINVALID   = "invalid"   // the command is malformed or breaks a rule
	ENOTFOUND  = "not_found" // the party, requirement or review does not exist
	ECONFLICT  = "conflict"  // a uniqueness rule or the expected version was violated
	EFORBIDDEN = "forbidden" // the actor may not do this
	// EPRECONDITION: the caller's expected version (HTTP If-Match) is not the
	// aggregate's current version.
	EPRECONDITION = "precondition_failed"
	EINTERNAL     = "internal" // a bug or an unavailable dependency
)

// FieldError says which input field is wrong and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the typed error every decision returns.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError // for EINVALID: every offending field
	Err     error        // optional wrapped cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for i, f := range e.Fields {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(f.Field + ": " + f.Message)
	}
	return b.String()
}

// Unwrap returns the wrapped cause, if any.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// validation collects field errors so that one response can name every
// offending field at once.
type validation struct{ fields []FieldError }

func (v *validation) add(field, format string, args ...any) {
	v.fields = append(v.fields, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validation) err() error {
	if len(v.fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "invalid input", Fields: v.fields}
}
