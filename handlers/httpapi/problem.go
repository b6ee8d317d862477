package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
)

// Problem is an RFC 9457 problem details object. Code is stable: clients
// branch on it (or on Type, which embeds it).
type Problem struct {
	Type            string              `json:"type"`
	Title           string              `json:"title"`
	Status          int                 `json:"status"`
	Detail          string              `json:"detail,omitempty"`
	Code            string              `json:"code"`
	Errors          []domain.FieldError `json:"errors,omitempty"`
	ExpectedVersion *int64              `json:"expected_version,omitempty"`
	ActualVersion   *int64              `json:"actual_version,omitempty"`
}

// Codes used only at the HTTP edge, beside the domain's.
const (
	codeUnauthorized     = "unauthorized"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeTooLarge         = "too_large"
	codeUnavailable      = "unavailable"
	codeRateLimited      = "rate_limited"
)

// statuses maps every error code to its HTTP status: the one table.
var statuses = map[string]int{
	domain.EINVALID:      http.StatusBadRequest,
	codeUnauthorized:     http.StatusUnauthorized,
	domain.EFORBIDDEN:    http.StatusForbidden,
	domain.ENOTFOUND:     http.StatusNotFound,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	domain.ECONFLICT:     http.StatusConflict,
	domain.EPRECONDITION: http.StatusPreconditionFailed,
	codeTooLarge:         http.StatusRequestEntityTooLarge,
	codeUnsupportedMedia: http.StatusUnsupportedMediaType,
	domain.EINTERNAL:     http.StatusInternalServerError,
	codeUnavailable:      http.StatusServiceUnavailable,
	codeRateLimited:      http.StatusTooManyRequests,
	codeStreamsFull:      http.StatusServiceUnavailable,
	codeLagging:          http.StatusServiceUnavailable,
}

// problemf builds a Problem for an edge error.
func problemf(code, detail string, fields ...domain.FieldError) *domain.Error {
	return &domain.Error{Code: code, Message: detail, Fields: fields}
}

// writeError answers with the problem for err. Internal errors are logged
// with their cause and answered with a generic text: no SQL, paths or stack
// traces reach the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := domain.ErrorCode(err)
	switch {
	case errors.Is(err, eventstore.ErrUnavailable), errors.Is(err, eventstore.ErrClosed):
		code = codeUnavailable
	case code == domain.EINTERNAL && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)):
		code = codeUnavailable
	}
	status, ok := statuses[code]
	if !ok {
		status, code = http.StatusInternalServerError, domain.EINTERNAL
	}
	p := Problem{Type: "urn:partyledger:problem:" + code, Title: http.StatusText(status), Status: status, Code: code}
	var de *domain.Error
	if status >= 500 && code != codeStreamsFull && code != codeLagging {
		s.logger().LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		p.Detail = "the server could not complete the request; it has been logged"
		if status == http.StatusServiceUnavailable {
			p.Detail = "the store is unavailable; retry later"
			if w.Header().Get("Retry-After") == "" {
				setRetryAfter(w, time.Second)
			}
		}
	} else if errors.As(err, &de) {
		p.Detail, p.Errors = de.Message, de.Fields
	}
	var ce *eventstore.ConflictError
	if status < 500 && errors.As(err, &ce) {
		p.ExpectedVersion, p.ActualVersion = &ce.Expected, &ce.Actual
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="partyledger"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
