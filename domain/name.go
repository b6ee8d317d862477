package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NormalizeName is THE key under which names are unique: party names,
// requirement titles, KPI names, and the name reservations built on them.
// Two names that a reader could take for the same name get the same key:
//
//   - Unicode compatibility normalisation (NFKC): full-width "Ｃｕｓｔｏｍｅｒｓ",
//     ligatures and other compatibility forms become their plain letters;
//   - full case folding ("Straße" and "STRASSE" match);
//   - default-ignorable and format characters (zero-width spaces and
//     joiners, bidi controls, soft hyphens) are dropped, and runs of white
//     space become one space, trimmed at both ends;
//   - a confusable skeleton: letters of other scripts that look like Latin
//     letters (Cyrillic "С", Greek "ο", ...) and the digits 0 and 1 map to
//     the Latin letter they imitate, after Unicode TR 39's confusables
//     table, restricted to the look-alikes of basic Latin.
//
// The key is for comparison only; the name is stored as it was written.
// Validation refuses format and bidi controls in single-line fields, so
// new names never contain what the key drops.
func NormalizeName(s string) string {
	s = norm.NFKC.String(s)
	s = stableFold(s)
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case ignorable(r):
			continue
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if p, ok := confusables[r]; ok {
			b.WriteString(p)
			continue
		}
		b.WriteRune(r)
	}
	// Mapped letters may now compose with marks that followed them.
	return norm.NFKC.String(b.String())
}

// stableFold is full case folding whose result folds to itself. x/text's
// Fold maps some letters to a partner that folds back (the Cherokee small
// letters and their capitals, U+ABB3 ↔ U+13E3), so a key could change when
// normalised again; such a letter becomes the smaller code point of its
// pair, which is stable.
func stableFold(s string) string {
	fold := cases.Fold()
	s = fold.String(s)
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf {
			return r
		}
		g := []rune(fold.String(string(r)))
		if len(g) == 1 && g[0] < r {
			return g[0]
		}
		return r
	}, s)
}

// normName is the package's short name for [NormalizeName].
func normName(s string) string { return NormalizeName(s) }

// ignorable reports format characters (Unicode category Cf: zero-width
// space and joiners, bidi embeddings, overrides and isolates, the BOM, soft
// hyphen) and variation selectors, which change how text looks or reads
// without being letters.
func ignorable(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

// isBidiControl reports the explicit bidirectional formatting characters
// that reorder how text is displayed ("Trojan Source").
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

// confusables maps case-folded look-alikes of basic Latin letters to them:
// the Cyrillic, Greek, Armenian and Latin-extension letters that Unicode
// TR 39 lists as confusable with a-z, and the digits 0 and 1.
var confusables = map[rune]string{
	// Digits that pass for letters.
	'0': "o", '1': "l",
	// Cyrillic.
	'а': "a", 'в': "b", 'г': "r", 'д': "a", 'е': "e", 'ё': "e", 'з': "3", 'и': "u", 'к': "k",
	'м': "m", 'н': "h", 'о': "o", 'п': "n", 'р': "p", 'с': "c", 'т': "t", 'у': "y", 'х': "x",
	'ь': "b", 'ѕ': "s", 'і': "i", 'ї': "i", 'ј': "j", 'һ': "h", 'ԁ': "d", 'ԛ': "q", 'ԝ': "w",
	'ӏ': "l", 'ү': "y", 'ɡ': "g", 'ҽ': "e", 'ո': "n", 'ս': "u", 'օ': "o", 'զ': "q",
	// Greek.
	'α': "a", 'β': "b", 'γ': "y", 'ε': "e", 'η': "n", 'ι': "i", 'κ': "k", 'ν': "v", 'ο': "o",
	'ρ': "p", 'τ': "t", 'υ': "u", 'χ': "x", 'ω': "w", 'ϲ': "c", 'ϳ': "j", 'ϱ': "p",
	// Latin look-alikes.
	'ı': "i", 'ȷ': "j", 'ɑ': "a", 'ɩ': "i", 'ʋ': "u", 'ꞵ': "b",
}

// checkLine validates single-line text: no line breaks or tabs, and no
// format characters (zero-width spaces, joiners, bidi controls), which a
// single line never needs and which make look-alike names.
func checkLine(v *validation, field, s string, max int) {
	if strings.ContainsAny(s, "\n\r\t") {
		v.add(field, "must be a single line")
		return
	}
	for _, r := range s {
		if ignorable(r) {
			v.add(field, "contains an invisible format character (U+%04X)", r)
			return
		}
	}
	checkText(v, field, s, max)
}
