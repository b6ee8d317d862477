package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/eventstore/verify"
	"github.com/partyledger/partyledger/handlers/httpapi"
	"github.com/partyledger/partyledger/projections"
)

type auditPage struct {
	Q          url.Values
	Events     []eventstore.Event
	Next       string
	Verify     *verify.Result
	Checkpoint string
	PublicKey  string
}

// auditFilter reads the audit page's filters: the API's event filter, with
// from and to as dates (from the start of from to the end of to, UTC).
func auditFilter(q url.Values) (projections.EventFilter, error) {
	f := projections.EventFilter{Party: q.Get("party"), Type: strings.TrimSpace(q.Get("type")),
		Actor: strings.TrimSpace(q.Get("actor")), Trigger: q.Get("trigger"), Limit: 50}
	var bad []domain.FieldError
	for _, p := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"from", &f.From, false}, {"to", &f.To, true}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.Parse("2006-01-02", v)
			if err != nil {
				bad = append(bad, domain.FieldError{Field: p.name, Message: "must be a date such as 2026-01-31"})
				continue
			}
			if p.end {
				d = d.Add(24*time.Hour - time.Nanosecond)
			}
			*p.dst = d
		}
	}
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = append(bad, domain.FieldError{Field: "after", Message: "must be a position >= 0"})
		}
		f.After = n
	}
	if len(bad) > 0 {
		return f, &domain.Error{Code: domain.EINVALID, Message: "invalid filter", Fields: bad}
	}
	return f, f.Validate()
}

// handleAudit is the event browser of the audit trail: every event with
// the API's filters, paged by position; the chain's verification on
// request (?verify=1); the latest signed checkpoint.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) error {
	if s.AuditTrail == nil {
		return domain.Errorf(domain.ENOTFOUND, "the audit trail is not enabled on this server")
	}
	q := r.URL.Query()
	f, err := auditFilter(q)
	if err != nil {
		return err
	}
	ctx := r.Context()
	positions, more, err := s.AuditTrail.Index.EventPositions(ctx, f)
	if err != nil {
		return err
	}
	p := auditPage{Q: q}
	if p.Events, err = httpapi.ReadPositions(ctx, s.AuditTrail.Log, positions); err != nil {
		return err
	}
	if more {
		p.Next = queryWith(q, "after", strconv.FormatInt(positions[len(positions)-1], 10))
	}
	if q.Get("verify") == "1" && s.AuditTrail.Verify != nil {
		res, err := s.AuditTrail.Verify(ctx)
		if err != nil {
			return err
		}
		p.Verify = &res
	}
	if cps := s.AuditTrail.Checkpoints; cps != nil {
		if note, ok, err := cps.LatestCheckpoint(ctx); err == nil && ok {
			p.Checkpoint = note
		}
		p.PublicKey = cps.PublicKey()
	}
	return s.render(w, r, http.StatusOK, "audit", "Audit trail", p)
}
