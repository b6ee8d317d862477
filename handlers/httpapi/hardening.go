package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/google/uuid"

	"github.com/partyledger/partyledger/domain"
)

// MaxTraceIDBytes is the longest correlation or causation id accepted.
const MaxTraceIDBytes = 128

// Trace headers: copied into the hash-chained envelope of every event the
// request writes, so they are checked before anything runs.
const (
	headerCorrelationID = "X-Correlation-ID"
	headerCausationID   = "X-Causation-ID"
)

// ValidTraceID reports whether s may be a correlation or causation id: a
// UUID, or 1 to [MaxTraceIDBytes] bytes of printable ASCII (space to ~).
// Anything else (invalid UTF-8, control characters, huge values) would be
// kept forever in the append-only log.
func ValidTraceID(s string) bool {
	if s == "" || len(s) > MaxTraceIDBytes {
		return false
	}
	if _, err := uuid.Parse(s); err == nil {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// repeatableParams are the query parameters documented as lists ("each
// repeated or comma-separated"); every other parameter may be given once.
var repeatableParams = []string{"types", "party_ids", "categories", "triggers"}

// checkRequest refuses, for every route, what no handler may silently
// interpret: a malformed query string, a query parameter given twice that
// is not a list (which value would win is a guess), and trace ids that are
// not [ValidTraceID]. All problems are reported at once.
func checkRequest(r *http.Request) error {
	var fields []domain.FieldError
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		fields = append(fields, domain.FieldError{Field: "query", Message: "is not a well-formed query string"})
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if len(q[k]) > 1 && !slices.Contains(repeatableParams, k) {
			fields = append(fields, domain.FieldError{Field: k, Message: "is given more than once; give it once"})
		}
	}
	for _, h := range []string{headerCorrelationID, headerCausationID} {
		vs := r.Header.Values(h)
		switch {
		case len(vs) == 0:
		case len(vs) > 1:
			fields = append(fields, domain.FieldError{Field: h, Message: "is given more than once"})
		case !ValidTraceID(vs[0]):
			fields = append(fields, domain.FieldError{Field: h, Message: "must be a UUID or 1-128 bytes of printable ASCII"})
		}
	}
	if len(fields) > 0 {
		return &domain.Error{Code: domain.EINVALID, Message: "the request is malformed", Fields: fields}
	}
	return nil
}

// setSecurityHeaders sets the headers every response carries: nosniff
// always, no-store on authenticated routes (their answers are private to
// the token), and HSTS when the request came over TLS.
func setSecurityHeaders(w http.ResponseWriter, r *http.Request, authenticated bool) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if authenticated {
		h.Set("Cache-Control", "no-store")
	}
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}
