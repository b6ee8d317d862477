package console

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// partyForm is the party form's values. Field names are the API's JSON
// field names.
type partyForm struct {
	ID          string
	Version     int64
	Name        string
	Category    string
	Scope       string
	Owner       string
	Influence   string
	Interest    string
	Description string
	ParentID    string
	Reason      string
	Trigger     string
	EffectiveOn string // optional YYYY-MM-DD; empty means today
	// Orig holds the values the form was opened with, per field, so that a
	// revision sends only what this user changed.
	Orig map[string]string
	// Errors by field name; "" is a message for the whole form.
	Errors map[string]string
	// Parents are the parties that can be chosen as parent.
	Parents []projections.PartyView
	// Theirs lists what others saved since the form was opened (the
	// stale-version flow).
	Theirs []projections.ChangeItem
}

var partyFormFields = []string{"name", "category", "scope", "owner", "influence", "interest", "description", "parent_id"}

func (f *partyForm) get(field string) string {
	switch field {
	case "name":
		return f.Name
	case "category":
		return f.Category
	case "scope":
		return f.Scope
	case "owner":
		return f.Owner
	case "influence":
		return f.Influence
	case "interest":
		return f.Interest
	case "description":
		return f.Description
	case "parent_id":
		return f.ParentID
	}
	return ""
}

func (f *partyForm) set(field, v string) {
	switch field {
	case "name":
		f.Name = v
	case "category":
		f.Category = v
	case "scope":
		f.Scope = v
	case "owner":
		f.Owner = v
	case "influence":
		f.Influence = v
	case "interest":
		f.Interest = v
	case "description":
		f.Description = v
	case "parent_id":
		f.ParentID = v
	}
}

// partyFormOf fills the form from a party.
func partyFormOf(p projections.PartyView) *partyForm {
	f := &partyForm{ID: p.ID, Version: p.Version, Name: p.Name, Category: p.Category, Scope: p.Scope,
		Owner: p.Owner, Influence: strconv.Itoa(p.Influence), Interest: strconv.Itoa(p.Interest),
		Description: p.Description, Orig: map[string]string{}}
	if p.ParentID != nil {
		f.ParentID = *p.ParentID
	}
	for _, k := range partyFormFields {
		f.Orig[k] = f.get(k)
	}
	return f
}

// decodePartyForm reads the posted party form.
func decodePartyForm(r *http.Request) *partyForm {
	pf := r.PostForm
	f := &partyForm{Orig: map[string]string{}, Reason: strings.TrimSpace(pf.Get("reason")), Trigger: pf.Get("trigger"),
		EffectiveOn: strings.TrimSpace(pf.Get("effective_on"))}
	for _, k := range partyFormFields {
		f.set(k, strings.TrimSpace(pf.Get(k)))
		if pf.Has("orig_" + k) {
			f.Orig[k] = pf.Get("orig_" + k)
		}
	}
	return f
}

// identify builds the command that adds the party.
func (f *partyForm) identify(m domain.Meta) (domain.IdentifyParty, error) {
	errs := map[string]string{}
	cmd := domain.IdentifyParty{Meta: m, Name: f.Name, Category: f.Category, Scope: f.Scope,
		Owner: f.Owner, Description: f.Description,
		Influence: formInt(f.Influence, "influence", errs), Interest: formInt(f.Interest, "interest", errs)}
	if f.ParentID != "" {
		id := domain.PartyID(f.ParentID)
		cmd.ParentID = &id
	}
	return cmd, invalid(errs)
}

// revise builds the revision: only the fields this user changed from the
// values the form was opened with.
func (f *partyForm) revise(id string, m domain.Meta) (domain.ReviseParty, error) {
	errs := map[string]string{}
	cmd := domain.ReviseParty{Meta: m, PartyID: domain.PartyID(id)}
	changed := func(k string) bool { o, ok := f.Orig[k]; return !ok || o != f.get(k) }
	str := func(k string) *string {
		if !changed(k) {
			return nil
		}
		v := f.get(k)
		return &v
	}
	cmd.Name, cmd.Category, cmd.Scope = str("name"), str("category"), str("scope")
	cmd.Owner, cmd.Description = str("owner"), str("description")
	if changed("influence") {
		n := formInt(f.Influence, "influence", errs)
		cmd.Influence = &n
	}
	if changed("interest") {
		n := formInt(f.Interest, "interest", errs)
		cmd.Interest = &n
	}
	if changed("parent_id") {
		p := domain.PartyID(f.ParentID)
		cmd.ParentID = &p
	}
	return cmd, invalid(errs)
}

// rebase moves the form onto the party as it is now, after someone else
// saved: fields this user did not change take the new values, fields this
// user changed keep this user's value, and the originals become the new
// state, so saving again re-applies only this user's changes.
func (f *partyForm) rebase(now projections.PartyView) {
	cur := partyFormOf(now)
	for _, k := range partyFormFields {
		if o, ok := f.Orig[k]; ok && o == f.get(k) {
			f.set(k, cur.get(k))
		}
	}
	f.Orig, f.Version, f.ID = cur.Orig, now.Version, now.ID
}
