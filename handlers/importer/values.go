package importer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/partyledger/partyledger/domain"
	"github.com/xuri/excelize/v2"
)

// synonyms maps, per enum field, a normalised spelling to the stored value.
// The stored values themselves (and with "_" read as a space) always match.
var synonyms = map[Field]map[string]string{
	FieldCategory: {
		"client": "customer", "customers": "customer", "clients": "customer",
		"government client": "government_customer", "public sector customer": "government_customer",
		"government customers": "government_customer", "public sector": "government_customer",
		"staff": "employee", "employees": "employee", "workforce": "employee", "personnel": "employee",
		"management": "executive", "top management": "executive", "executives": "executive",
		"board": "executive", "leadership": "executive", "senior management": "executive",
		"shareholders": "shareholder", "investor": "shareholder", "investors": "shareholder",
		"suppliers": "supplier", "vendor": "supplier", "vendors": "supplier", "service provider": "supplier",
		"service providers": "supplier", "contractor": "supplier", "contractors": "supplier",
		"partners": "partner", "business partner": "partner", "business partners": "partner",
		"regulators": "regulator", "regulatory body": "regulator", "regulatory bodies": "regulator",
		"authority": "regulator", "authorities": "regulator", "supervisory authority": "regulator",
		"insurers": "insurer", "insurance": "insurer",
		"auditors": "auditor", "certification body": "auditor",
		"press":           "media",
		"landlords":       "landlord",
		"competitors":     "competitor",
		"local community": "community", "communities": "community", "public": "community", "society": "community",
	},
	FieldScope: {"int": "internal", "ext": "external", "inside": "internal", "outside": "external"},
	FieldKind: {"req": "requirement", "requirements": "requirement", "mandatory": "requirement",
		"exp": "expectation", "expectations": "expectation"},
	FieldSourceType: {"laws": "law", "legislation": "law", "legal": "law", "statute": "law",
		"regulations": "regulation", "regulatory": "regulation",
		"contractual": "contract", "agreement": "contract", "contracts": "contract",
		"service level agreement": "sla", "policies": "policy", "standards": "standard",
		"market research": "market_research"},
	FieldPriority: {"med": "medium", "crit": "critical"},
	FieldTrigger:  {},
}

// enums lists the stored values of each enum field.
var enums = map[Field][]string{
	FieldCategory:   domain.Categories,
	FieldScope:      domain.Scopes,
	FieldKind:       domain.Kinds,
	FieldSourceType: domain.SourceTypes,
	FieldPriority:   domain.Priorities,
	FieldTrigger:    domain.Triggers,
}

// valueError is a cell value the importer cannot read.
type valueError struct{ msg string }

func (e *valueError) Error() string { return e.msg }

func badValue(format string, args ...any) error {
	return &valueError{msg: fmt.Sprintf(format, args...)}
}

// parseEnum reads an enum value through the mapping's value overrides, the
// stored values and their synonyms. Anything else is an error: categories
// and the like are reported, never guessed.
func parseEnum(f Field, s string, overrides map[string]string) (string, error) {
	key := NormalizeHeader(s)
	if v, ok := overrides[key]; ok {
		s, key = v, NormalizeHeader(v)
	}
	for _, v := range enums[f] {
		if key == NormalizeHeader(v) {
			return v, nil
		}
	}
	if v, ok := synonyms[f][key]; ok {
		return v, nil
	}
	return "", badValue("%q is not a known %s; use one of %s (or map it in mapping.values.%s)",
		s, strings.ReplaceAll(string(f), "_", " "), strings.Join(enums[f], ", "), f)
}

// parseBool reads yes/no, y/n, true/false, ✓/x (and 1/0). A blank cell, "-"
// and "not decided" and the like are nil: not yet decided.
func parseBool(s string, overrides map[string]string) (*bool, error) {
	key := NormalizeHeader(s)
	if v, ok := overrides[key]; ok {
		s, key = v, NormalizeHeader(v)
	}
	t, f := true, false
	switch strings.TrimSpace(s) {
	case "✓", "✔", "☑":
		return &t, nil
	case "✗", "✘", "☐":
		return &f, nil
	case "", "-", "–", "?":
		return nil, nil
	}
	switch key {
	case "yes", "y", "true", "1", "addressed":
		return &t, nil
	case "no", "n", "false", "0", "x", "not addressed":
		return &f, nil
	case "undecided", "not decided", "not yet decided", "tbd", "tbc", "open", "pending", "n a", "na":
		return nil, nil
	}
	return nil, badValue("%q is not yes or no (yes/no, y/n, true/false, ✓/x; blank for not yet decided)", s)
}

// parseLevel reads an influence or interest: High, Medium, Low (5, 3, 1) or
// a whole number from 1 to 5. Anything else, "Very high" included, is an
// error.
func parseLevel(s string, overrides map[string]string) (int, error) {
	key := NormalizeHeader(s)
	if v, ok := overrides[key]; ok {
		s, key = v, NormalizeHeader(v)
	}
	switch key {
	case "high", "h":
		return 5, nil
	case "medium", "med", "m":
		return 3, nil
	case "low", "l":
		return 1, nil
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && f == math.Trunc(f) && f >= 1 && f <= 5 {
		return int(f), nil
	}
	return 0, badValue("%q is not High, Medium, Low or a whole number from 1 to 5", s)
}

// dateLayouts are the written date forms read besides Excel date cells:
// ISO first, then day-first forms (dd/mm/yyyy is read as day/month).
var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006-01-02T15:04:05", "2006-01-02 15:04:05",
	"02/01/2006", "2/1/2006", "02.01.2006", "2.1.2006", "02-01-2006", "2-1-2006", "02/01/06", "2/1/06",
	"2 Jan 2006", "2 January 2006", "02 Jan 2006", "Jan 2, 2006", "January 2, 2006"}

// parseDate reads a date as YYYY-MM-DD. fromXLSX says that a bare number is an
// Excel date serial (a date cell read raw); CSV files have no date cells.
func parseDate(s string, fromXLSX bool) (string, error) {
	s = strings.TrimSpace(s)
	if fromXLSX {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if f < 1 || f > 2958465 {
				return "", badValue("%q is not a date", s)
			}
			t, err := excelize.ExcelDateToTime(f, false)
			if err != nil {
				return "", badValue("%q is not a date", s)
			}
			return t.Format(domain.DateLayout), nil
		}
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.Format(domain.DateLayout), nil
		}
	}
	return "", badValue("%q is not a date (use YYYY-MM-DD or DD/MM/YYYY)", s)
}

// parseControls splits a list of control references on commas, semicolons
// and white space.
func parseControls(s string) []string {
	out := []string{}
	for _, c := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	}) {
		out = append(out, c)
	}
	return out
}
