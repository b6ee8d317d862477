package console

import (
	"net/http"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

// requirementForm is the requirement form's values; field names are the
// API's JSON field names.
type requirementForm struct {
	PartyID, ID                            string
	Version                                int64
	Kind, Title, Description               string
	SourceType, SourceRef, Owner, Priority string
	ReviewDue, Reason, Trigger             string
	Errors                                 map[string]string
}

func requirementFormOf(p projections.PartyView, q projections.RequirementView) *requirementForm {
	f := &requirementForm{PartyID: p.ID, ID: q.ID, Version: p.Version, Kind: q.Kind, Title: q.Title,
		Description: q.Description, SourceType: q.SourceType, SourceRef: q.SourceRef, Owner: q.Owner,
		Priority: q.Priority}
	if q.ReviewDue != nil {
		f.ReviewDue = *q.ReviewDue
	}
	return f
}

func decodeRequirementForm(r *http.Request) *requirementForm {
	pf := r.PostForm
	t := func(k string) string { return strings.TrimSpace(pf.Get(k)) }
	return &requirementForm{Kind: t("kind"), Title: t("title"), Description: t("description"),
		SourceType: t("source_type"), SourceRef: t("source_ref"), Owner: t("owner"), Priority: t("priority"),
		ReviewDue: t("review_due"), Reason: t("reason"), Trigger: pf.Get("trigger")}
}

func (f *requirementForm) identify(partyID string, m domain.Meta) domain.IdentifyRequirement {
	return domain.IdentifyRequirement{Meta: m, PartyID: domain.PartyID(partyID), Kind: f.Kind, Title: f.Title,
		Description: f.Description, SourceType: f.SourceType, SourceRef: f.SourceRef, Owner: f.Owner,
		Priority: f.Priority, ReviewDue: f.ReviewDue}
}

// revise sends every field; the domain records only those that differ.
func (f *requirementForm) revise(partyID, id string, m domain.Meta) domain.ReviseRequirement {
	return domain.ReviseRequirement{Meta: m, PartyID: domain.PartyID(partyID), RequirementID: domain.RequirementID(id),
		Kind: &f.Kind, Title: &f.Title, Description: &f.Description, SourceType: &f.SourceType,
		SourceRef: &f.SourceRef, Owner: &f.Owner, Priority: &f.Priority, ReviewDue: &f.ReviewDue}
}

// decodeAddressing reads the addressing decision form: addressed is
// "true", "false" or "" (not yet decided); controls are space- or
// comma-separated.
func decodeAddressing(r *http.Request, partyID, id string) (domain.DecideAddressing, error) {
	pf := r.PostForm
	cmd := domain.DecideAddressing{Meta: meta(r), PartyID: domain.PartyID(partyID), RequirementID: domain.RequirementID(id),
		Rationale: strings.TrimSpace(pf.Get("rationale")), Treatment: strings.TrimSpace(pf.Get("treatment")),
		Controls: strings.FieldsFunc(pf.Get("controls"), func(r rune) bool { return r == ' ' || r == ',' || r == '\n' || r == '\t' || r == '\r' })}
	switch pf.Get("addressed") {
	case "true":
		t := true
		cmd.Addressed = &t
	case "false":
		f := false
		cmd.Addressed = &f
	case "":
	default:
		return cmd, invalid(map[string]string{"addressed": "must be yes, no or not yet decided"})
	}
	return cmd, nil
}
