package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/projections"
)

var funcs = template.FuncMap{
	"asset":       assetURL,
	"label":       label,
	"date":        fmtDate,
	"datetime":    fmtDateTime,
	"value":       fmtValue,
	"categories":  func() []string { return domain.Categories },
	"scopes":      func() []string { return domain.Scopes },
	"triggers":    func() []string { return domain.Triggers },
	"kinds":       func() []string { return domain.Kinds },
	"sources":     func() []string { return domain.SourceTypes },
	"priorities":  func() []string { return domain.Priorities },
	"levels":      func() []int { return []int{1, 2, 3, 4, 5} },
	"itoa":        strconv.Itoa,
	"query":       queryWith,
	"changeLabel": changeLabel,
	"addressed":   addressedLabel,
	"allNew":      allNew,
	"trend":       trendSVG,
	"day": func(s string) string {
		if len(s) > 10 {
			return s[:10]
		}
		return s
	},
	"blank":  blank,
	"isTrue": func(b *bool) bool { return b != nil && *b },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"deref": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
	"reminderSent": reminderSentLine,
	"join":         strings.Join,
}

// label turns a stored code ("government_customer") into words
// ("Government customer").
func label(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "_", " ")
	switch s {
	case "sla":
		return "SLA"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

func fmtDateTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// fmtValue shows a field's from/to value of a change.
func fmtValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "(empty)"
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case []string:
		if len(x) == 0 {
			return "(none)"
		}
		return strings.Join(x, ", ")
	case []any:
		if len(x) == 0 {
			return "(none)"
		}
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmtValue(e)
		}
		return strings.Join(parts, ", ")
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

var changeLabels = map[string]string{
	"party_added":                    "Party added",
	"party_revised":                  "Party revised",
	"party_retired":                  "Party retired",
	"requirement_added":              "Requirement added",
	"requirement_revised":            "Requirement revised",
	"requirement_addressing_decided": "Addressing decided",
	"requirement_retired":            "Requirement retired",
	"party_added_and_retired":        "Party added and retired",
	"requirement_added_and_retired":  "Requirement added and retired",
}

func changeLabel(c string) string {
	if l, ok := changeLabels[c]; ok {
		return l
	}
	return label(c)
}

func addressedLabel(b *bool) string {
	switch {
	case b == nil:
		return "Not yet decided"
	case *b:
		return "Addressed"
	default:
		return "Not addressed"
	}
}

// queryWith returns "?..." of q with key set to val ("" removes it).
func queryWith(q url.Values, key, val string) string {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	if val == "" {
		c.Del(key)
	} else {
		c.Set(key, val)
	}
	if key != "page" {
		c.Del("page")
	}
	if len(c) == 0 {
		return "?"
	}
	return "?" + c.Encode()
}

// allNew reports whether every field change is a first value (an added
// item): those are shown as a list of values, not from → to.
func allNew(cs []projections.FieldChange) bool {
	for _, c := range cs {
		if c.From != nil {
			return false
		}
	}
	return true
}

// blank reports whether a value is worth leaving out of an added item.
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}
