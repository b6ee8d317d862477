package webhooks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/pipeline"
)

// MaxFilterValues bounds each list of a [Filter].
const MaxFilterValues = 100

// Filter selects the events a subscriber wants. Each non-empty list must
// match (AND); inside a list any value may match (OR). An empty filter
// selects every event.
type Filter struct {
	// Types are event types, such as "requirement.revised".
	Types []string `json:"types"`
	// PartyIDs select events of these parties (and their requirements).
	PartyIDs []string `json:"party_ids"`
	// Categories select events of parties in these categories (the
	// category as it was after the event).
	Categories []string `json:"categories"`
	// Triggers select events by what caused them, such as "incident".
	Triggers []string `json:"triggers"`
}

// Normalize returns f with values trimmed, de-duplicated and sorted, and
// every nil list replaced by an empty one.
func (f Filter) Normalize() Filter {
	norm := func(in []string) []string {
		out := make([]string, 0, len(in))
		for _, s := range in {
			if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		slices.Sort(out)
		return out
	}
	return Filter{Types: norm(f.Types), PartyIDs: norm(f.PartyIDs), Categories: norm(f.Categories), Triggers: norm(f.Triggers)}
}

// Validate reports every unknown value of f as a field error (field names
// prefixed with prefix, such as "filter."). It returns nil or a
// *domain.Error with code EINVALID.
func (f Filter) Validate(prefix string) error {
	var fields []domain.FieldError
	check := func(name string, vals []string, ok func(string) bool, want string) {
		if len(vals) > MaxFilterValues {
			fields = append(fields, domain.FieldError{Field: prefix + name, Message: fmt.Sprintf("has more than %d values", MaxFilterValues)})
			return
		}
		for _, v := range vals {
			if !ok(v) {
				fields = append(fields, domain.FieldError{Field: prefix + name, Message: fmt.Sprintf("%q is not %s", v, want)})
			}
		}
	}
	check("types", f.Types, func(s string) bool { return slices.Contains(domain.EventTypes, s) },
		"one of "+strings.Join(domain.EventTypes, ", "))
	check("party_ids", f.PartyIDs, domain.ValidID, "a party id (a lower-case UUID)")
	check("categories", f.Categories, func(s string) bool { return slices.Contains(domain.Categories, s) },
		"one of "+strings.Join(domain.Categories, ", "))
	check("triggers", f.Triggers, func(s string) bool { return slices.Contains(domain.Triggers, s) },
		"one of "+strings.Join(domain.Triggers, ", "))
	if len(fields) > 0 {
		return &domain.Error{Code: domain.EINVALID, Message: "invalid filter", Fields: fields}
	}
	return nil
}

// Match reports whether an event of type typ caused by trigger, with the
// feed item change (nil for events that are not feed items, such as
// management reviews), passes the filter. Party and category lists never
// match an event without a feed item.
func (f Filter) Match(typ, trigger string, change *pipeline.Item) bool {
	if len(f.Types) > 0 && !slices.Contains(f.Types, typ) {
		return false
	}
	if len(f.Triggers) > 0 && !slices.Contains(f.Triggers, trigger) {
		return false
	}
	if len(f.PartyIDs) > 0 && (change == nil || !slices.Contains(f.PartyIDs, change.Party.ID)) {
		return false
	}
	if len(f.Categories) > 0 && (change == nil || !slices.Contains(f.Categories, change.Party.Category)) {
		return false
	}
	return true
}

// MatchItem reports whether a feed item passes the filter.
func (f Filter) MatchItem(it *pipeline.Item) bool {
	return f.Match(it.Type, it.Trigger, it)
}
