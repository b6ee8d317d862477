package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/auth"
	"github.com/partyledger/partyledger/handlers/webhooks"
)

// Subscriptions manages webhook subscriptions (implemented by
// *webhooks.Subscriptions). Methods fail with ENOTFOUND for an unknown id
// and EINVALID for bad input.
type Subscriptions interface {
	Create(ctx context.Context, n webhooks.NewSubscription) (webhooks.Subscription, string, error)
	List(ctx context.Context) ([]webhooks.Subscription, error)
	Get(ctx context.Context, id string) (webhooks.Subscription, error)
	Delete(ctx context.Context, id, actor string) error
	RotateSecret(ctx context.Context, id, actor string) (webhooks.Subscription, string, error)
	Enable(ctx context.Context, id, actor string) (webhooks.Subscription, error)
	Redeliver(ctx context.Context, id, actor string, fromPosition int64) (webhooks.Subscription, error)
	Deliveries(ctx context.Context, id string, limit int) ([]webhooks.Delivery, error)
	History(ctx context.Context, id string) ([]webhooks.Record, error)
	PauseOwnedBy(ctx context.Context, owner, actor, reason string) ([]string, error)
}

// ownSubscription returns subscription id if the request's token may
// manage it: its creator, or an admin. Anyone else gets ENOTFOUND, as for
// an id that does not exist, so that ids of others' subscriptions leak
// nothing.
func (s *Server) ownSubscription(r *http.Request) (webhooks.Subscription, error) {
	id := r.PathValue("id")
	sub, err := s.Subscriptions.Get(r.Context(), id)
	if err != nil {
		return sub, err
	}
	if tok := tokenFrom(r.Context()); tok.Role != auth.RoleAdmin && sub.CreatedBy != tok.Name {
		return webhooks.Subscription{}, domain.Errorf(domain.ENOTFOUND, "no subscription with id %s", id)
	}
	return sub, nil
}

// subscriptionRoutes are the webhook subscription endpoints, for editors
// and admins: they name integration endpoints and hand out signing secrets.
func (s *Server) subscriptionRoutes() []route {
	if s.Subscriptions == nil {
		return nil
	}
	const base = "/api/v1/subscriptions"
	return []route{
		{"POST", base, auth.PermWrite, s.handleSubscriptionCreate},
		{"GET", base, auth.PermWrite, s.handleSubscriptionList},
		{"GET", base + "/{id}", auth.PermWrite, s.handleSubscriptionGet},
		{"DELETE", base + "/{id}", auth.PermWrite, s.handleSubscriptionDelete},
		{"POST", base + "/{id}/rotate-secret", auth.PermWrite, s.handleSubscriptionRotate},
		{"POST", base + "/{id}/enable", auth.PermWrite, s.handleSubscriptionEnable},
		{"GET", base + "/{id}/deliveries", auth.PermWrite, s.handleSubscriptionDeliveries},
		{"POST", base + "/{id}/redeliver", auth.PermWrite, s.handleSubscriptionRedeliver},
	}
}

// subscriptionWithSecret is the answer of create and rotate-secret: the
// only times the secret is shown.
type subscriptionWithSecret struct {
	webhooks.Subscription
	Secret string `json:"secret"`
}

func (s *Server) handleSubscriptionCreate(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "url", "description", "filter")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	tok := tokenFrom(r.Context())
	// Deliveries follow the creator's role: the full envelope only for
	// roles that may read the audit trail.
	n := webhooks.NewSubscription{URL: d.str("url"), Description: d.str("description"), Actor: tok.Name,
		FullEnvelope: auth.Allowed(tok.Role, auth.PermAudit)}
	if d.has("filter") && !d.isNull("filter") {
		dec := json.NewDecoder(bytes.NewReader(m["filter"]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&n.Filter); err != nil {
			d.fail("filter", "must be an object with the lists types, party_ids, categories and triggers")
		}
	}
	if err := d.err(); err != nil {
		return err
	}
	sub, secret, err := s.Subscriptions.Create(r.Context(), n)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/subscriptions/"+sub.ID)
	writeJSON(w, http.StatusCreated, subscriptionWithSecret{sub, secret})
	return nil
}

func (s *Server) handleSubscriptionList(w http.ResponseWriter, r *http.Request) error {
	subs, err := s.Subscriptions.List(r.Context())
	if err != nil {
		return err
	}
	if tok := tokenFrom(r.Context()); tok.Role != auth.RoleAdmin {
		mine := subs[:0:0]
		for _, sub := range subs {
			if sub.CreatedBy == tok.Name {
				mine = append(mine, sub)
			}
		}
		subs = mine
	}
	if subs == nil {
		subs = []webhooks.Subscription{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": subs})
	return nil
}

func (s *Server) handleSubscriptionGet(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	sub, err := s.ownSubscription(r)
	if err != nil {
		return err
	}
	hist, err := s.Subscriptions.History(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		webhooks.Subscription
		History []webhooks.Record `json:"history"`
	}{sub, hist})
	return nil
}

func (s *Server) handleSubscriptionDelete(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ownSubscription(r); err != nil {
		return err
	}
	if err := s.Subscriptions.Delete(r.Context(), r.PathValue("id"), tokenFrom(r.Context()).Name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleSubscriptionRotate(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ownSubscription(r); err != nil {
		return err
	}
	sub, secret, err := s.Subscriptions.RotateSecret(r.Context(), r.PathValue("id"), tokenFrom(r.Context()).Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, subscriptionWithSecret{sub, secret})
	return nil
}

func (s *Server) handleSubscriptionEnable(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ownSubscription(r); err != nil {
		return err
	}
	sub, err := s.Subscriptions.Enable(r.Context(), r.PathValue("id"), tokenFrom(r.Context()).Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sub)
	return nil
}

func (s *Server) handleSubscriptionDeliveries(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ownSubscription(r); err != nil {
		return err
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badParam("limit", "must be a whole number from 1 to 1000")
		}
		limit = n
	}
	ds, err := s.Subscriptions.Deliveries(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
	return nil
}

func (s *Server) handleSubscriptionRedeliver(w http.ResponseWriter, r *http.Request) error {
	m, err := readBody(r, "from_position")
	if err != nil {
		return err
	}
	d := &fieldDecoder{m: m}
	var from int64
	switch {
	case !d.has("from_position"):
		d.fail("from_position", "is required: the position to deliver again from")
	case d.decode("from_position", &from, "a whole number") && from < 1:
		d.fail("from_position", "must be a position >= 1")
	}
	if err := d.err(); err != nil {
		return err
	}
	if _, err := s.ownSubscription(r); err != nil {
		return err
	}
	sub, err := s.Subscriptions.Redeliver(r.Context(), r.PathValue("id"), tokenFrom(r.Context()).Name, from)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, sub)
	return nil
}
