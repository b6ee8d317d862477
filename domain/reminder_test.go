package domain_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/partyledger/partyledger/domain"
)

func TestOwnerKey(t *testing.T) {
	if a, b := domain.OwnerKey("Head of Sales"), domain.OwnerKey("  head of SALES "); a != b {
		t.Errorf("case and blanks give two keys: %q, %q", a, b)
	}
	if !strings.HasPrefix(domain.OwnerKey("Head of Sales"), "head-of-sales-") {
		t.Errorf("key %q does not read as the name", domain.OwnerKey("Head of Sales"))
	}
	if domain.OwnerKey("R&D") == domain.OwnerKey("R D") {
		t.Error("R&D and R D share a key")
	}
	for _, name := range []string{"Führung", "情報セキュリティ", strings.Repeat("very long owner ", 20), "-"} {
		s := domain.ReminderStream(name, "2026-03-02")
		if len(s) > 200 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || strings.HasSuffix(s, "-") {
			t.Errorf("stream %q for %q is not a valid stream name", s, name)
		}
	}
}

func TestDecideOwnerContacts(t *testing.T) {
	m := domain.Meta{Actor: "alice"}
	tests := []struct {
		name    string
		current []string
		cmd     domain.SetOwnerContacts
		want    []string // emails of the event; nil: no event
		bad     []string // fields named by EINVALID
	}{
		{"new", nil, domain.SetOwnerContacts{Owner: "CISO", Emails: []string{"a@example.com", "a@example.com", "b@example.com"}, Meta: m},
			[]string{"a@example.com", "b@example.com"}, nil},
		{"unchanged", []string{"a@example.com"}, domain.SetOwnerContacts{Owner: "CISO", Emails: []string{" a@example.com "}, Meta: m}, nil, nil},
		{"cleared", []string{"a@example.com"}, domain.SetOwnerContacts{Owner: "CISO", Emails: []string{}, Meta: m}, []string{}, nil},
		{"bad", nil, domain.SetOwnerContacts{Owner: " ", Emails: []string{"x", "Jo <jo@example.com>", "a@b"}},
			nil, []string{"actor", "owner", "emails[0]", "emails[1]", "emails[2]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := domain.DecideOwnerContacts(tc.current, tc.cmd)
			if tc.bad != nil {
				var fields []string
				if de, ok := err.(*domain.Error); ok {
					for _, f := range de.Fields {
						fields = append(fields, f.Field)
					}
				}
				if domain.ErrorCode(err) != domain.EINVALID || !slices.Equal(fields, tc.bad) {
					t.Errorf("err = %v (fields %v), want EINVALID on %v", err, fields, tc.bad)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == nil {
				if len(evs) != 0 {
					t.Errorf("events %v, want none", evs)
				}
				return
			}
			if len(evs) != 1 || !slices.Equal(evs[0].(domain.OwnerContactsSet).Emails, tc.want) {
				t.Errorf("events %+v, want emails %v", evs, tc.want)
			}
		})
	}
}
