package domain_test

import (
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/partyledger/partyledger/domain"
)

func TestNormalizeNameLookAlikes(t *testing.T) {
	same := []string{
		"Customers",
		"customers",
		" CUSTOMERS ",
		"Сustomers",       // Cyrillic Es
		"Cust\u200bomers", // zero-width space
		"Cust0mers",       // digit zero
		"Ｃｕｓｔｏｍｅｒｓ",       // full width
		"\u202eCustomers", // right-to-left override
		"Custοmers",       // Greek omicron
		"Cus\u00adtomers", // soft hyphen
		"Customers\ufe0f", // variation selector
	}
	want := domain.NormalizeName(same[0])
	for _, s := range same {
		if got := domain.NormalizeName(s); got != want {
			t.Errorf("NormalizeName(%q) = %q, want %q", s, got, want)
		}
	}
	for _, pair := range [][2]string{{"Straße", "STRASSE"}, {"Acme  Ltd", "Acme Ltd"}, {"ﬁnance", "finance"}} {
		if a, b := domain.NormalizeName(pair[0]), domain.NormalizeName(pair[1]); a != b {
			t.Errorf("%q → %q and %q → %q differ", pair[0], a, pair[1], b)
		}
	}
	for _, pair := range [][2]string{{"Customers", "Costumers"}, {"café", "cafe"}, {"Suppliers", "Customers"}} {
		if domain.NormalizeName(pair[0]) == domain.NormalizeName(pair[1]) {
			t.Errorf("%q and %q share a key", pair[0], pair[1])
		}
	}
}

// Format and bidi controls are refused in names; bidi controls in any text.
func TestNamesRefuseFormatControls(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pid := domain.PartyID("0190f1a2-0000-7000-8000-000000000001")
	for _, name := range []string{"Cust\u200bomers", "\u202eCustomers", "A\u2066B", "x\ufeff"} {
		cmd := domain.IdentifyParty{Meta: domain.Meta{Actor: "a"}, PartyID: pid, Name: name, Category: "customer", Scope: "external",
			Influence: domain.DefaultLevel, Interest: domain.DefaultLevel}
		if _, err := (&domain.Party{}).Identify(cmd, mapDirectory{}, now); domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("name %q: err %v, want EINVALID", name, err)
		}
	}
	cmd := domain.IdentifyParty{Meta: domain.Meta{Actor: "a"}, PartyID: pid, Name: "Customers", Description: "abc \u202e txt.exe",
		Category: "customer", Scope: "external", Influence: domain.DefaultLevel, Interest: domain.DefaultLevel}
	if _, err := (&domain.Party{}).Identify(cmd, mapDirectory{}, now); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bidi override in a description: err %v, want EINVALID", err)
	}
}

// FuzzNormalizeName: the key is stable (normalising a key gives the same
// key), valid UTF-8, and free of format characters and outer spaces.
func FuzzNormalizeName(f *testing.F) {
	for _, s := range []string{"Customers", "Сustomers", "Cust\u200bomers", "Ｃｕｓｔ", "Straße", " a  b ", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := domain.NormalizeName(s)
		if again := domain.NormalizeName(k); again != k {
			t.Fatalf("NormalizeName(%q) = %q, but NormalizeName of that = %q", s, k, again)
		}
		if !utf8.ValidString(k) || strings.TrimSpace(k) != k {
			t.Fatalf("NormalizeName(%q) = %q", s, k)
		}
		for _, r := range k {
			if unicode.Is(unicode.Cf, r) {
				t.Fatalf("NormalizeName(%q) = %q keeps U+%04X", s, k, r)
			}
		}
	})
}
