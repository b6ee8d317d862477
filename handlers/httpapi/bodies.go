package httpapi

import (
	"net/http"

	"github.com/partyledger/partyledger/domain"
)

// conditionalBody reads what a write to an existing stream brings: first the
// If-Match precondition (see ifMatch), then the JSON object body, whose keys
// must be among allowed (see readBody), ready for decoding. The first error
// found is returned as those functions return it.
func conditionalBody(r *http.Request, allowed ...string) (*int64, *fieldDecoder, error) {
	expect, err := ifMatch(r)
	if err != nil {
		return nil, nil, err
	}
	m, err := readBody(r, allowed...)
	if err != nil {
		return nil, nil, err
	}
	return expect, &fieldDecoder{m: m}, nil
}

// requirementRevision decodes the revisable fields of a requirement, in the
// order of requirementFields: each is nil when absent, and review_due may be
// set to null. Meta, PartyID and RequirementID are left to the caller.
func requirementRevision(d *fieldDecoder) domain.ReviseRequirement {
	return domain.ReviseRequirement{
		Kind:        d.strPtr("kind"),
		Title:       d.strPtr("title"),
		Description: d.strPtr("description"),
		SourceType:  d.strPtr("source_type"),
		SourceRef:   d.strPtr("source_ref"),
		Owner:       d.strPtr("owner"),
		Priority:    d.strPtr("priority"),
		ReviewDue:   d.nullableStr("review_due"),
	}
}
