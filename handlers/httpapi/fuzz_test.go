package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/partyledger/partyledger/domain"
	"github.com/partyledger/partyledger/eventstore"
	"github.com/partyledger/partyledger/projections"
)

// FuzzReadBody: whatever the body, readBody never panics, and what it
// accepts is a JSON object of allowed members only.
func FuzzReadBody(f *testing.F) {
	for _, s := range []string{`{"name":"Customers","category":"customer","scope":"external"}`,
		`{"name":`, `[]`, `null`, `{"id":"x"}`, "{\"name\":\"\xff\"}", `{"a":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}`,
		`{"name":"x","influence":1e400}`, `{"name":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/parties", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		m, err := readBody(r, partyFields...)
		if err != nil {
			if domain.ErrorCode(err) == domain.EINTERNAL {
				t.Fatalf("readBody returned an untyped error: %v", err)
			}
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8")
		}
		for k := range m {
			if !slices.Contains(partyFields, k) {
				t.Fatalf("accepted member %q", k)
			}
		}
	})
}

// FuzzCommandBody decodes a body into IdentifyParty and decides it: no
// panic, and an accepted party has a valid name and round-trips as JSON.
func FuzzCommandBody(f *testing.F) {
	f.Add([]byte(`{"name":"Customers","category":"customer","scope":"external","influence":3,"interest":5}`))
	f.Add([]byte(`{"name":"  x  ","category":"regulator","scope":"internal","parent_id":null,"reason":"r","trigger":"incident"}`))
	f.Add([]byte(`{"name":"a","category":"other","scope":"external","influence":"5"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/api/v1/parties", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		m, err := readBody(r, partyFields...)
		if err != nil {
			return
		}
		d := &fieldDecoder{m: m}
		cmd := domain.IdentifyParty{Meta: domain.Meta{Actor: "fuzz", Reason: d.str("reason"), Trigger: d.str("trigger")},
			PartyID: "0190f1a2-0000-7000-8000-000000000001", Name: d.str("name"), Category: d.str("category"),
			Scope: d.str("scope"), Description: d.str("description"), Owner: d.str("owner"),
			Influence: domain.DefaultLevel, Interest: domain.DefaultLevel}
		if n := d.intPtr("influence"); n != nil {
			cmd.Influence = *n
		}
		if d.err() != nil {
			return
		}
		p := &domain.Party{}
		events, err := p.Identify(cmd, emptyDirectory{}, time.Now())
		if err != nil {
			if domain.ErrorCode(err) == domain.EINTERNAL {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		e := events[0].(domain.PartyIdentified)
		if n := utf8.RuneCountInString(e.Name); n < 1 || n > domain.MaxNameLen || !utf8.ValidString(e.Name) {
			t.Fatalf("accepted name %q", e.Name)
		}
		data, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := domain.Decode(e.EventType(), 1, data)
		if err != nil || back.(domain.PartyIdentified).Name != e.Name {
			t.Fatalf("round trip: %v %+v", err, back)
		}
	})
}

type emptyDirectory struct{}

func (emptyDirectory) ActivePartyByName(string) (domain.PartyID, bool) { return "", false }
func (emptyDirectory) PartyStatus(domain.PartyID) string               { return "" }
func (emptyDirectory) ParentOf(domain.PartyID) (domain.PartyID, bool)  { return "", false }

// FuzzCheckShape compares checkShape with a reference computed by the JSON
// tokenizer: an accepted valid document really is within the limits.
func FuzzCheckShape(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,3],"b":{"c":[[]]}}`))
	f.Add([]byte(`"[[[[[[[[[[[[[[[[[[[["`))
	f.Add([]byte(`{"a":"\\\"[[[["}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkShape(body)
		depth, longest, ok := shapeOf(body)
		if !ok || err != nil {
			return
		}
		if depth > MaxJSONDepth || longest > MaxJSONArrayLength {
			t.Fatalf("accepted depth %d, array %d", depth, longest)
		}
	})
}

// shapeOf returns the nesting depth and the longest array of a valid JSON
// document, using encoding/json's tokenizer.
func shapeOf(body []byte) (depth, longest int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var counts []int // per open level: -1 for objects, else items so far
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return depth, longest, true
		}
		if err != nil {
			return 0, 0, false
		}
		if n := len(counts); n > 0 && counts[n-1] >= 0 {
			if d, isDelim := tok.(json.Delim); !isDelim || d == '[' || d == '{' {
				counts[n-1]++
				longest = max(longest, counts[n-1])
			}
		}
		switch tok {
		case json.Delim('['):
			counts = append(counts, 0)
		case json.Delim('{'):
			counts = append(counts, -1)
		case json.Delim(']'), json.Delim('}'):
			counts = counts[:len(counts)-1]
		}
		depth = max(depth, len(counts))
	}
}

// FuzzWindow: since/until never panic and fail only with typed errors.
func FuzzWindow(f *testing.F) {
	for _, s := range []string{"", "last-review", "beginning", "review:x", "position:12", "position:-1",
		"time:2026-01-01T00:00:00Z", "time:", "now", "position:99999999999999999999"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, since, until string) {
		w, _, _, err := Window(context.Background(), windowReads{}, since, until)
		if err != nil {
			if c := domain.ErrorCode(err); c != domain.EINVALID && c != domain.ENOTFOUND {
				t.Fatalf("error code %q: %v", c, err)
			}
			return
		}
		if w.After < 0 {
			t.Fatalf("negative After %d", w.After)
		}
	})
}

// FuzzIfMatch: any header yields a version >= 0, nil, or a 412.
func FuzzIfMatch(f *testing.F) {
	for _, s := range []string{`"3"`, `W/"3"`, `*`, `3`, `"-1"`, `""`, `"99999999999999999999"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		r := httptest.NewRequest("PATCH", "/", nil)
		r.Header.Set("If-Match", h)
		v, err := ifMatch(r)
		if err != nil && domain.ErrorCode(err) != domain.EPRECONDITION {
			t.Fatalf("error %v", err)
		}
		if v != nil && *v < 0 {
			t.Fatalf("negative version %d", *v)
		}
	})
}

// windowReads is a read model with one review, for Window.
type windowReads struct{ ReadModel }

var fuzzReview = projections.ReviewView{ID: "r1", Position: 7}

func (windowReads) LastReview(context.Context) (projections.ReviewView, bool, error) {
	return fuzzReview, true, nil
}

func (windowReads) Review(_ context.Context, id string) (projections.ReviewView, error) {
	if id == fuzzReview.ID {
		return fuzzReview, nil
	}
	return projections.ReviewView{}, domain.Errorf(domain.ENOTFOUND, "no review %s", id)
}

func (windowReads) Checkpoint(context.Context) (int64, error) { return 42, nil }

// FuzzAuditQuery: the audit trail's filters and as_of never panic, fail
// only with EINVALID, and an accepted page size is within bounds.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"party=x&limit=10", "limit=501", "after=-1", "from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z",
		"type=a&type=b", "colour=red", "%zz", "limit=1e3", "trigger=incident&actor=alice"} {
		f.Add(s, "position:3")
	}
	f.Add("", "2026-01-01T00:00:00Z")
	f.Add("", "time:bad")
	f.Fuzz(func(t *testing.T, rawQuery, asOf string) {
		if q, err := url.ParseQuery(rawQuery); err == nil {
			filter, err := EventFilterFromQuery(q)
			if err != nil {
				if domain.ErrorCode(err) != domain.EINVALID {
					t.Fatalf("filter error %v", err)
				}
			} else if filter.Limit < 1 || filter.Limit > MaxPageSize {
				t.Fatalf("accepted limit %d", filter.Limit)
			}
		}
		at, err := projections.ParseAsOf("as_of", asOf)
		if err != nil {
			if domain.ErrorCode(err) != domain.EINVALID {
				t.Fatalf("as_of error %v", err)
			}
			return
		}
		if at.Position < 0 || (at.Time.IsZero() && at.Position == 0 && asOf != "position:0" && !strings.HasPrefix(asOf, "position:")) {
			t.Fatalf("as_of %q parsed to %+v", asOf, at)
		}
	})
}

// FuzzDuplicateKeys: an object that names a key twice is refused whatever
// the value, and wrapping a value in a one-key object changes nothing.
func FuzzDuplicateKeys(f *testing.F) {
	f.Add(`{"a":1}`)
	f.Add(`[{"a":1,"b":{"a":2}}]`)
	f.Add(`{"a":{"a":1,"a":2}}`)
	f.Add(`"x"`)
	f.Fuzz(func(t *testing.T, v string) {
		if !json.Valid([]byte(v)) {
			_ = checkDuplicateKeys([]byte(v)) // must not panic
			return
		}
		inner := checkDuplicateKeys([]byte(v))
		if err := checkDuplicateKeys([]byte(`{"x":` + v + `,"x":` + v + `}`)); err == nil {
			t.Fatalf("duplicate key accepted around %s", v)
		}
		if err := checkDuplicateKeys([]byte(`{"x":` + v + `,"y":` + v + `}`)); (err == nil) != (inner == nil) {
			t.Fatalf("wrapping %s changed the verdict: %v vs %v", v, err, inner)
		}
	})
}

// FuzzTraceID: an accepted trace id is short printable text that survives
// the event envelope's JSON round trip.
func FuzzTraceID(f *testing.F) {
	f.Add("0190f1a2-0000-7000-8000-000000000001")
	f.Add("bad\xff\xfeutf8")
	f.Add("<script>")
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidTraceID(s) {
			return
		}
		if len(s) > MaxTraceIDBytes || !utf8.ValidString(s) {
			t.Fatalf("accepted %q", s)
		}
		ev := eventstore.Event{ID: "x", Type: "t", Schema: 1, Time: time.Unix(0, 0).UTC(), CorrelationID: s, CausationID: s, Data: json.RawMessage(`{}`)}
		if err := ev.CheckRoundTrip(); err != nil {
			t.Fatalf("accepted %q does not round-trip: %v", s, err)
		}
	})
}
