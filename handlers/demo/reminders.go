package demo

import (
	"context"
	"fmt"
	"slices"

	"github.com/partyledger/partyledger/domain"
)

// OwnerContacts are the e-mail addresses (example.com, RFC 2606) of the
// demo's owner roles, so that reminder digests have somewhere to go. The
// Head of Partnerships is left out on purpose: the owners list shows the
// gap.
var OwnerContacts = map[string][]string{
	"CISO":                         {"ciso@example.com", "isms-team@example.com"},
	"DPO":                          {"dpo@example.com"},
	"CEO":                          {"ceo@example.com"},
	"CFO":                          {"cfo@example.com"},
	"CTO":                          {"cto@example.com"},
	"ISMS manager":                 {"isms-manager@example.com"},
	"Head of HR":                   {"hr-lead@example.com"},
	"Head of Platform Engineering": {"platform-lead@example.com"},
	"General Counsel":              {"legal@example.com"},
	"Facilities manager":           {"facilities@example.com"},
	"Head of Sales":                {"sales-lead@example.com"},
}

// SetOwnerContacts stores an owner's addresses (implemented by
// *reminders.Contacts' Set, adapted by the caller).
type SetOwnerContacts func(ctx context.Context, owner string, emails []string, meta domain.Meta) error

// LoadOwnerContacts sets [OwnerContacts] through set, in name order, as
// actor.
func LoadOwnerContacts(ctx context.Context, set SetOwnerContacts, actor string) error {
	owners := make([]string, 0, len(OwnerContacts))
	for o := range OwnerContacts {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	meta := domain.Meta{Actor: actor, Reason: "Owner contacts for reminder digests (ISMS manual, contact list 2026)", Trigger: "other"}
	for _, o := range owners {
		if err := set(ctx, o, OwnerContacts[o], meta); err != nil {
			return fmt.Errorf("demo: contacts of %s: %w", o, err)
		}
	}
	return nil
}
