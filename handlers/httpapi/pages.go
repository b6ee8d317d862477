package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/partyledger/partyledger/projections"
)

// Paged lists (GET /api/v1/parties, /register and /changes as JSON) take
// limit (default [projections.DefaultPageLimit], at most
// [projections.MaxPageLimit]) and answer with their usual top-level array
// plus next: the relative URL of the next page, absent on the last page.
// The rest of a page's parameters are carried over into next; cursor is
// what moves. Pages are written as the rows are read, never built whole in
// memory.

// pageLimit reads the limit parameter: EINVALID unless a whole number from 1
// to MaxPageLimit.
func pageLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return projections.DefaultPageLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > projections.MaxPageLimit {
		return 0, badParam("limit", fmt.Sprintf("must be a whole number from 1 to %d", projections.MaxPageLimit))
	}
	return n, nil
}

// pageFromQuery reads limit and cursor of a party list.
func pageFromQuery(q url.Values) (projections.Page, error) {
	limit, err := pageLimit(q)
	if err != nil {
		return projections.Page{}, err
	}
	after, err := projections.ParseCursor(q.Get("cursor"))
	if err != nil {
		return projections.Page{}, err
	}
	return projections.Page{After: after, Limit: limit}, nil
}

// nextLink is the relative URL of the page after this one: the request's
// path and query with cursor (and any replaced parameter) set.
func nextLink(r *http.Request, set map[string]string) string {
	q := r.URL.Query()
	for k, v := range set {
		q.Set(k, v)
	}
	return r.URL.Path + "?" + q.Encode()
}

// listWriter writes a JSON object whose array member is streamed: the
// head members, then the array items one by one, then next. Nothing is
// written before the first item or the end, so an error found before that
// still becomes a problem response.
type listWriter struct {
	w       http.ResponseWriter
	head    []member // members before the array
	name    string   // the array's member name
	started bool
	n       int
	enc     *json.Encoder
}

type member struct {
	name  string
	value any
}

func newListWriter(w http.ResponseWriter, name string, head ...member) *listWriter {
	return &listWriter{w: w, name: name, head: head}
}

func (l *listWriter) start() error {
	if l.started {
		return nil
	}
	l.started = true
	l.w.Header().Set("Content-Type", "application/json")
	l.w.Header().Set("Cache-Control", "no-store")
	l.w.WriteHeader(http.StatusOK)
	l.enc = json.NewEncoder(l.w)
	l.enc.SetEscapeHTML(false)
	if _, err := l.w.Write([]byte("{")); err != nil {
		return err
	}
	for _, m := range l.head {
		if err := l.key(m.name); err != nil {
			return err
		}
		if err := l.enc.Encode(m.value); err != nil {
			return err
		}
		if _, err := l.w.Write([]byte(",")); err != nil {
			return err
		}
	}
	if err := l.key(l.name); err != nil {
		return err
	}
	_, err := l.w.Write([]byte("["))
	return err
}

func (l *listWriter) key(name string) error {
	b, _ := json.Marshal(name)
	_, err := l.w.Write(append(b, ':'))
	return err
}

// item writes one array element.
func (l *listWriter) item(v any) error {
	if err := l.start(); err != nil {
		return err
	}
	if l.n > 0 {
		if _, err := l.w.Write([]byte(",")); err != nil {
			return err
		}
	}
	l.n++
	return l.enc.Encode(v)
}

// end closes the array and the object, with next unless it is "".
func (l *listWriter) end(next string) error {
	if err := l.start(); err != nil {
		return err
	}
	if _, err := l.w.Write([]byte("]")); err != nil {
		return err
	}
	if next != "" {
		if _, err := l.w.Write([]byte(",")); err != nil {
			return err
		}
		if err := l.key("next"); err != nil {
			return err
		}
		if err := l.enc.Encode(next); err != nil {
			return err
		}
	}
	_, err := l.w.Write([]byte("}\n"))
	return err
}
