// Package client is a typed Go client of partyledger's HTTP API (see the
// OpenAPI document served at /api/v1/openapi.json, and [httpapi.OpenAPI]).
// The CLI's remote commands use it; so can integrators.
//
// It is written by hand rather than generated: the API is small, its
// writes are partial updates whose field presence matters (which a
// generated struct of optional fields obscures), and a generator would add
// a build step and a dependency. It is held to the document by its tests,
// which run against the real server on a loopback port with every request
// and response validated against the document (package openapitest).
//
// # Errors
//
// A problem answer (RFC 9457) is returned as an [*Error] carrying the
// problem; branch on its Code with [IsCode] or errors.As.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// APIPath is the path of the API under the server root.
const APIPath = "/api/v1"

// Client calls one server. Create it with [New]. It is safe for concurrent
// use.
type Client struct {
	// API is the API root, such as http://127.0.0.1:8080/api/v1.
	API string
	// Token is the bearer token sent with every request.
	Token string
	// HTTP sends the requests; nil means a client with a one-minute
	// timeout (streams use http.DefaultClient's transport with no timeout).
	HTTP *http.Client
	// IfMatch, when not empty, is sent as the If-Match header of every
	// write (any method but GET and HEAD), such as `"3"`: the ETag last
	// seen. A write to a resource that has moved on since then fails with
	// an [*Error] of code precondition_failed (412) and writes nothing. Set
	// it on a copy of the client for one conditional write.
	IfMatch string

	// seen is the highest X-Position of this client's writes (shared by
	// its copies): its reads send it as X-Min-Position. See [Client.Position].
	seen *atomic.Int64
}

// New returns a client of the server at rawURL, which may be the server
// root (http://host:8080) or the API root (http://host:8080/api/v1).
func New(rawURL, token string) (*Client, error) {
	api, err := APIRoot(rawURL)
	if err != nil {
		return nil, err
	}
	return &Client{API: api, Token: token, seen: new(atomic.Int64)}, nil
}

// Position returns the log position of this client's latest write (the
// highest X-Position answered so far), 0 before any. Behind a load
// balancer each replica applies the shared log on its own, a little after
// a write: the client sends this position as X-Min-Position with every
// read, so that whichever replica answers has applied its writes first
// (read your writes). Copies of the client share it; a Client not made by
// [New] does not track it.
func (c *Client) Position() int64 {
	if c.seen == nil {
		return 0
	}
	return c.seen.Load()
}

// notePosition keeps the answer's X-Position if it is the highest yet.
func (c *Client) notePosition(h http.Header) {
	if c.seen == nil {
		return
	}
	pos, err := strconv.ParseInt(h.Get("X-Position"), 10, 64)
	if err != nil {
		return
	}
	for {
		old := c.seen.Load()
		if pos <= old || c.seen.CompareAndSwap(old, pos) {
			return
		}
	}
}

// APIRoot returns the API root of rawURL, given as the server root or the
// API root, with or without a trailing slash.
func APIRoot(rawURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("url %q: want http(s)://host[:port], optionally ending in %s", rawURL, APIPath)
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, APIPath)
	u.Path, u.RawQuery, u.Fragment = p+APIPath, "", ""
	return u.String(), nil
}

// Error is a problem answer of the API.
type Error struct {
	Status          int          `json:"status"`
	Type            string       `json:"type"`
	Title           string       `json:"title"`
	Code            string       `json:"code"`
	Detail          string       `json:"detail"`
	Errors          []FieldError `json:"errors"`
	ExpectedVersion *int64       `json:"expected_version"`
	ActualVersion   *int64       `json:"actual_version"`
}

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Detail)
	for _, f := range e.Errors {
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return msg
}

// IsCode reports whether err is a problem answer with the given code, such
// as "not_found" or "conflict".
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// problem turns a non-2xx answer into an *Error.
func problem(status int, raw []byte) error {
	e := &Error{}
	if json.Unmarshal(raw, e) != nil || e.Code == "" {
		return &Error{Status: status, Code: strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_")),
			Detail: "the server answered " + strconv.Itoa(status) + " " + http.StatusText(status)}
	}
	e.Status = status
	return e
}

// Request builds a request to path (under the API root, such as
// "/parties?status=all") with the token and, when body is not nil, its JSON.
func (c *Client) Request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	if c.Token == "" {
		return nil, errors.New("a token is required")
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.API+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.IfMatch != "" && method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("If-Match", c.IfMatch)
	}
	if pos := c.Position(); pos > 0 && (method == http.MethodGet || method == http.MethodHead) {
		req.Header.Set("X-Min-Position", strconv.FormatInt(pos, 10))
	}
	return req, nil
}

// Do sends a request and decodes a 2xx JSON answer into out (if not nil);
// it returns the answer's header. A problem answer is an [*Error]. It is
// the escape hatch for routes without a typed method.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	req, err := c.Request(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return resp.Header, problem(resp.StatusCode, raw)
	}
	c.notePosition(resp.Header)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: decode the answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Fields is the body of a write: the API's JSON field names and their
// values. A revise sends only the fields present, so presence matters.
type Fields map[string]any

// Party is an interested party as the API shows it.
type Party struct {
	ID           string        `json:"id"`
	Version      int64         `json:"version"`
	Name         string        `json:"name"`
	Category     string        `json:"category"`
	Scope        string        `json:"scope"`
	Description  string        `json:"description"`
	Owner        string        `json:"owner"`
	Influence    int           `json:"influence"`
	Interest     int           `json:"interest"`
	ParentID     *string       `json:"parent_id"`
	Status       string        `json:"status"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Requirements []Requirement `json:"requirements,omitempty"`
}

// Requirement is a requirement or expectation of a party.
type Requirement struct {
	ID          string    `json:"id"`
	PartyID     string    `json:"party_id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	SourceType  string    `json:"source_type"`
	SourceRef   string    `json:"source_ref"`
	Owner       string    `json:"owner"`
	Priority    string    `json:"priority"`
	ReviewDue   *string   `json:"review_due"`
	Addressed   *bool     `json:"addressed"`
	Rationale   string    `json:"rationale"`
	Treatment   string    `json:"treatment"`
	Controls    []string  `json:"controls"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Review is a recorded management review.
type Review struct {
	ID         string    `json:"id"`
	HeldOn     string    `json:"held_on"`
	Title      string    `json:"title"`
	Attendees  []string  `json:"attendees"`
	Notes      string    `json:"notes"`
	Position   int64     `json:"position"`
	RecordedAt time.Time `json:"recorded_at"`
	RecordedBy string    `json:"recorded_by"`
}

// PartyFilter narrows a list of parties; empty fields do not filter.
type PartyFilter struct {
	Category, Scope string
	Status          string // active (default), retired or all
}

// Query renders the filter as the query string of GET /parties ("" or
// "?category=...").
func (f PartyFilter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"category": f.Category, "scope": f.Scope, "status": f.Status} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func pathOf(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("/" + url.PathEscape(p))
	}
	return b.String()
}

// Parties lists parties (GET /parties).
func (c *Client) Parties(ctx context.Context, f PartyFilter) ([]Party, error) {
	var out struct {
		Parties []Party `json:"parties"`
	}
	_, err := c.Do(ctx, "GET", "/parties"+f.Query(), nil, &out)
	return out.Parties, err
}

// Party returns one party with its requirements (GET /parties/{id}).
func (c *Client) Party(ctx context.Context, id string) (Party, error) {
	var p Party
	_, err := c.Do(ctx, "GET", pathOf("parties", id), nil, &p)
	return p, err
}

// CreateParty identifies a party (POST /parties).
func (c *Client) CreateParty(ctx context.Context, f Fields) (Party, error) {
	var p Party
	_, err := c.Do(ctx, "POST", "/parties", f, &p)
	return p, err
}

// ReviseParty revises the fields given (PATCH /parties/{id}).
func (c *Client) ReviseParty(ctx context.Context, id string, f Fields) (Party, error) {
	var p Party
	_, err := c.Do(ctx, "PATCH", pathOf("parties", id), f, &p)
	return p, err
}

// RetireParty retires a party (POST /parties/{id}/retire); f holds reason
// and trigger.
func (c *Client) RetireParty(ctx context.Context, id string, f Fields) (Party, error) {
	var p Party
	_, err := c.Do(ctx, "POST", pathOf("parties", id, "retire"), f, &p)
	return p, err
}

// Requirements lists a party's requirements.
func (c *Client) Requirements(ctx context.Context, partyID string) ([]Requirement, error) {
	var out struct {
		Requirements []Requirement `json:"requirements"`
	}
	_, err := c.Do(ctx, "GET", pathOf("parties", partyID, "requirements"), nil, &out)
	return out.Requirements, err
}

// CreateRequirement identifies a requirement or expectation of a party.
func (c *Client) CreateRequirement(ctx context.Context, partyID string, f Fields) (Requirement, error) {
	var r Requirement
	_, err := c.Do(ctx, "POST", pathOf("parties", partyID, "requirements"), f, &r)
	return r, err
}

// ReviseRequirement revises the fields given.
func (c *Client) ReviseRequirement(ctx context.Context, partyID, rid string, f Fields) (Requirement, error) {
	var r Requirement
	_, err := c.Do(ctx, "PATCH", pathOf("parties", partyID, "requirements", rid), f, &r)
	return r, err
}

// DecideAddressing records whether the ISMS addresses the requirement
// (4.2 c); f must hold addressed (true, false or nil).
func (c *Client) DecideAddressing(ctx context.Context, partyID, rid string, f Fields) (Requirement, error) {
	var r Requirement
	_, err := c.Do(ctx, "POST", pathOf("parties", partyID, "requirements", rid, "addressing"), f, &r)
	return r, err
}

// RetireRequirement retires a requirement; f holds reason and trigger.
func (c *Client) RetireRequirement(ctx context.Context, partyID, rid string, f Fields) (Requirement, error) {
	var r Requirement
	_, err := c.Do(ctx, "POST", pathOf("parties", partyID, "requirements", rid, "retire"), f, &r)
	return r, err
}

// Reviews lists the management reviews.
func (c *Client) Reviews(ctx context.Context) ([]Review, error) {
	var out struct {
		Reviews []Review `json:"management_reviews"`
	}
	_, err := c.Do(ctx, "GET", "/management-reviews", nil, &out)
	return out.Reviews, err
}

// HoldReview records a management review (POST /management-reviews).
func (c *Client) HoldReview(ctx context.Context, f Fields) (Review, error) {
	var r Review
	_, err := c.Do(ctx, "POST", "/management-reviews", f, &r)
	return r, err
}

// ErrAmbiguous is returned (wrapped) by [Client.ResolveParty] when a name
// matches several parties.
var ErrAmbiguous = errors.New("ambiguous party name")

// ResolveParty finds a party by id or by name (exact, then
// case-insensitive; active parties first, then retired ones). A name matching
// several parties is an error wrapping [ErrAmbiguous] that lists them; no
// match is an *Error with code not_found.
func (c *Client) ResolveParty(ctx context.Context, nameOrID string) (Party, error) {
	ps, err := c.Parties(ctx, PartyFilter{Status: "all"})
	if err != nil {
		return Party{}, err
	}
	for _, p := range ps {
		if p.ID == nameOrID {
			return p, nil
		}
	}
	// Active names are unique (the server refuses a duplicate), so a name
	// is looked up among active parties first and among retired ones only
	// when no active party has it.
	var matches []Party
	for _, active := range []bool{true, false} {
		var exact, fold []Party
		for _, p := range ps {
			if (p.Status == "active") != active {
				continue
			}
			switch {
			case p.Name == nameOrID:
				exact = append(exact, p)
			case strings.EqualFold(strings.TrimSpace(p.Name), strings.TrimSpace(nameOrID)):
				fold = append(fold, p)
			}
		}
		if matches = exact; len(matches) == 0 {
			matches = fold
		}
		if len(matches) > 0 {
			break
		}
	}
	switch len(matches) {
	case 0:
		return Party{}, &Error{Status: http.StatusNotFound, Code: "not_found", Detail: fmt.Sprintf("no party has the id or name %q", nameOrID)}
	case 1:
		return matches[0], nil
	}
	var lines []string
	for _, p := range matches {
		lines = append(lines, fmt.Sprintf("  %s  %s (%s, %s, %s)", p.ID, p.Name, p.Category, p.Scope, p.Status))
	}
	return Party{}, fmt.Errorf("%w: %q matches %d parties; give the id:\n%s", ErrAmbiguous, nameOrID, len(matches), strings.Join(lines, "\n"))
}

// Event is one event of a Server-Sent Events stream.
type Event struct{ ID, Data string }

// Stream follows GET /stream until it ends, a read fails, ctx is done or fn
// fails, calling fn with each event. query holds the filter (types,
// party_ids, categories, triggers, after); lastEventID resumes after that
// event. A problem answer is an [*Error].
func (c *Client) Stream(ctx context.Context, query url.Values, lastEventID string, fn func(Event) error) error {
	path := "/stream"
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	req, err := c.Request(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	hc := http.DefaultClient // no timeout: the stream is long-lived
	if c.HTTP != nil {
		hc = &http.Client{Transport: c.HTTP.Transport}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return problem(resp.StatusCode, raw)
	}
	return ReadSSE(resp.Body, fn)
}
