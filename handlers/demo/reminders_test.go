package demo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/handlers/demo"
	"github.com/partyledger/partyledger/handlers/reminders"
)

func TestOwnerContactsAreValidExampleAddresses(t *testing.T) {
	var got []string
	err := demo.LoadOwnerContacts(context.Background(), func(_ context.Context, owner string, emails []string, m domain.Meta) error {
		parsed, err := reminders.ParseEmails(emails)
		if err != nil {
			return err
		}
		for _, e := range parsed {
			if !strings.HasSuffix(e, "@example.com") {
				t.Errorf("%s: %s is not an example.com address", owner, e)
			}
		}
		if m.Actor != "demo" || m.Reason == "" {
			t.Errorf("meta %+v", m)
		}
		got = append(got, owner)
		return nil
	}, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(demo.OwnerContacts) || got[0] != "CEO" {
		t.Errorf("set %v", got)
	}
}
