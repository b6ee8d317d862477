package diagrams

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fontFamily is a list every platform resolves; the width estimate below is
// Arial's, which the others are close to.
const fontFamily = "Helvetica, Arial, 'Liberation Sans', sans-serif"

// svg accumulates an SVG document. Every number goes through num, every
// string through esc, so the output is deterministic and well-formed.
type svg struct{ bytes.Buffer }

func (w *svg) p(format string, args ...any) { fmt.Fprintf(w, format, args...) }

// open writes the root element with its title and description; ids must be
// unique in a page that inlines several diagrams, so each diagram passes
// its own prefix. A diagram whose parties are links is a group of them for
// assistive technology, not an image (an image's content is not
// interactive); without links it is one image.
func (w *svg) open(prefix string, width, height float64, title, desc string, linked bool) {
	role := "img"
	if linked {
		role = "group"
	}
	w.p(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" role="%s" aria-labelledby="%s-title %s-desc" font-family="%s">`+"\n",
		num(width), num(height), num(width), num(height), role, prefix, prefix, esc(fontFamily))
	w.p(`<title id="%s-title">%s</title>`+"\n", prefix, esc(title))
	w.p(`<desc id="%s-desc">%s</desc>`+"\n", prefix, esc(desc))
	w.p(`<rect x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`+"\n", num(width), num(height))
}

func (w *svg) close() { w.p("</svg>\n") }

// text writes one <text> with one <tspan> per line.
func (w *svg) text(x, y float64, lines []string, size, lineHeight float64, attrs string) {
	if len(lines) == 1 {
		w.p(`<text x="%s" y="%s" font-size="%s"%s>%s</text>`+"\n", num(x), num(y), num(size), attrs, esc(lines[0]))
		return
	}
	w.p(`<text x="%s" y="%s" font-size="%s"%s>`, num(x), num(y), num(size), attrs)
	for i, l := range lines {
		dy := "0"
		if i > 0 {
			dy = num(lineHeight)
		}
		w.p(`<tspan x="%s" dy="%s">%s</tspan>`, num(x), dy, esc(l))
	}
	w.p("</text>\n")
}

// linkOpen and linkClose wrap an element in a link when url is not empty.
func (w *svg) linkOpen(url string) {
	if url != "" {
		w.p(`<a href="%s">`, esc(url))
	}
}

func (w *svg) linkClose(url string) {
	if url != "" {
		w.p("</a>\n")
	}
}

// num formats a coordinate with at most one decimal.
func num(x float64) string {
	x = math.Round(x*10) / 10
	if x == 0 {
		x = 0 // no "-0"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// esc escapes text for XML content and attribute values, replacing runes
// XML 1.0 does not allow with U+FFFD.
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\n' || r == '\r' || r == '\t':
			b.WriteByte(' ')
		case r == utf8.RuneError || r < 0x20 || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// runeWidth estimates a rune's advance in em for Arial.
func runeWidth(r rune) float64 {
	switch {
	case strings.ContainsRune("il.,:;'|!j", r):
		return 0.23
	case strings.ContainsRune("ftrI()[] -/", r):
		return 0.33
	case r == 'm' || r == 'M' || r == 'W':
		return 0.85
	case r == 'w' || r == '%' || r == '@' || r == '—':
		return 0.75
	case r >= 'A' && r <= 'Z':
		return 0.68
	case r < 0x80:
		return 0.56
	case unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hangul, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
		return 1
	}
	return 0.62
}

// textWidth estimates the width of s in pixels at the given font size.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w * size
}

// wrap breaks s into at most maxLines lines no wider than width, at spaces
// where it can and inside words where it must; a name that still does not
// fit ends with "…" (the full name is in the element's <title>).
func wrap(s string, width, size float64, maxLines int) []string {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return []string{""}
	}
	var lines []string
	rest := s
	for len(rest) > 0 && len(lines) < maxLines {
		if textWidth(rest, size) <= width {
			lines = append(lines, rest)
			rest = ""
			break
		}
		// The longest prefix that fits, preferably ending at a space.
		cut, lastSpace, w := 0, -1, 0.0
		for i, r := range rest {
			w += runeWidth(r) * size
			if w > width {
				break
			}
			cut = i + utf8.RuneLen(r)
			if r == ' ' {
				lastSpace = i
			}
		}
		if lastSpace > 0 {
			cut = lastSpace
		}
		if cut == 0 { // not even one rune fits: take one anyway
			_, n := utf8.DecodeRuneInString(rest)
			cut = n
		}
		lines = append(lines, strings.TrimSpace(rest[:cut]))
		rest = strings.TrimSpace(rest[cut:])
	}
	if rest != "" {
		last := lines[len(lines)-1]
		for last != "" && textWidth(last+"…", size) > width {
			_, n := utf8.DecodeLastRuneInString(last)
			last = last[:len(last)-n]
		}
		lines[len(lines)-1] = strings.TrimSpace(last) + "…"
	}
	return lines
}

// rect is an axis-aligned box, for overlap checks.
type rect struct{ x, y, w, h float64 }

func (a rect) overlaps(b rect) bool {
	return a.x < b.x+b.w && b.x < a.x+a.w && a.y < b.y+b.h && b.y < a.y+a.h
}
