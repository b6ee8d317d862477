package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/partyledger/partyledger/domain"
)

// MaxBodyBytes is the largest request body accepted (413 beyond).
const MaxBodyBytes = 1 << 20

// serverOwned are fields the server sets; a body that names one is refused
// rather than silently ignored, so a client never believes it set them.
var serverOwned = []string{"id", "version", "actor", "position", "hash", "prev_hash", "stream",
	"status", "created_at", "updated_at", "time", "party_id", "requirements", "recorded_at",
	"recorded_by", "schema", "correlation_id", "causation_id"}

// fieldEffectiveOn is the body field of every command that dates the
// change in the world (YYYY-MM-DD, not in the future; default today).
const fieldEffectiveOn = "effective_on"

// readBody reads and checks a JSON object body: content type, size, UTF-8,
// syntax, and that every key is one of allowed (a command body, one that
// allows "trigger", also allows effective_on). It returns the raw members
// so that callers can tell an absent field from an explicit null.
func readBody(r *http.Request, allowed ...string) (map[string]json.RawMessage, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, problemf(codeUnsupportedMedia, "the body must be JSON (Content-Type: application/json)")
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problemf(codeTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
		}
		return nil, problemf(domain.EINVALID, "could not read the body")
	}
	if !utf8.Valid(body) {
		return nil, problemf(domain.EINVALID, "the body is not valid UTF-8")
	}
	if err := checkShape(body); err != nil {
		return nil, err
	}
	if err := checkDuplicateKeys(body); err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil, problemf(domain.EINVALID, "the body must be a JSON object: "+jsonErrText(err))
	}
	var fields []domain.FieldError
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case slices.Contains(allowed, k):
		case k == fieldEffectiveOn && slices.Contains(allowed, "trigger"):
			// Every command body (one that takes a trigger) may say when
			// the change took effect; see meta.
		case slices.Contains(serverOwned, k):
			fields = append(fields, domain.FieldError{Field: k, Message: "is set by the server and cannot be sent"})
		default:
			fields = append(fields, domain.FieldError{Field: k, Message: "is not a known field"})
		}
	}
	if len(fields) > 0 {
		return nil, &domain.Error{Code: domain.EINVALID, Message: "the body has fields that are not accepted here", Fields: fields}
	}
	return members, nil
}

func jsonErrText(err error) string {
	if err == nil {
		return "got null"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "got " + te.Value
	}
	return "malformed JSON"
}

// fieldDecoder decodes members one by one, collecting every type error.
type fieldDecoder struct {
	m      map[string]json.RawMessage
	fields []domain.FieldError
}

func (d *fieldDecoder) has(name string) bool { _, ok := d.m[name]; return ok }

func (d *fieldDecoder) isNull(name string) bool {
	v, ok := d.m[name]
	return ok && strings.TrimSpace(string(v)) == "null"
}

func (d *fieldDecoder) fail(name, msg string) {
	d.fields = append(d.fields, domain.FieldError{Field: name, Message: msg})
}

// decode unmarshals member name into dst if present; want names the JSON
// type for the error message.
func (d *fieldDecoder) decode(name string, dst any, want string) bool {
	v, ok := d.m[name]
	if !ok {
		return false
	}
	if err := json.Unmarshal(v, dst); err != nil {
		d.fail(name, "must be "+want)
		return false
	}
	return true
}

func (d *fieldDecoder) str(name string) string {
	var s string
	if d.isNull(name) {
		return ""
	}
	d.decode(name, &s, "a string")
	return s
}

func (d *fieldDecoder) strPtr(name string) *string {
	if !d.has(name) {
		return nil
	}
	if d.isNull(name) {
		d.fail(name, "must be a string, not null")
		return nil
	}
	var s string
	if !d.decode(name, &s, "a string") {
		return nil
	}
	return &s
}

// nullableStr returns nil if absent, a pointer to "" for null, else the value.
func (d *fieldDecoder) nullableStr(name string) *string {
	if !d.has(name) {
		return nil
	}
	if d.isNull(name) {
		empty := ""
		return &empty
	}
	return d.strPtr(name)
}

func (d *fieldDecoder) intPtr(name string) *int {
	if !d.has(name) {
		return nil
	}
	f, ok := d.number(name)
	if !ok {
		d.fail(name, "must be an integer")
		return nil
	}
	n, err := strconv.Atoi(f.String())
	if err != nil {
		d.fail(name, "must be an integer")
		return nil
	}
	return &n
}

// number returns member name as a JSON number literal. A number written
// as a string ("3") is not one: encoding/json would accept it into a
// json.Number, and a client would never learn that its types are wrong.
func (d *fieldDecoder) number(name string) (json.Number, bool) {
	raw := strings.TrimSpace(string(d.m[name]))
	if raw == "" || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return "", false
	}
	var f json.Number
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return "", false
	}
	return f, true
}

func (d *fieldDecoder) strings(name string) []string {
	if !d.has(name) || d.isNull(name) {
		return nil
	}
	var out []string
	d.decode(name, &out, "a list of strings")
	return out
}

// boolOrNull decodes a member that must be present and be true, false or null.
func (d *fieldDecoder) boolOrNull(name string) *bool {
	if d.isNull(name) || !d.has(name) {
		return nil
	}
	var b bool
	if !d.decode(name, &b, "true, false or null") {
		return nil
	}
	return &b
}

func (d *fieldDecoder) err() error {
	if len(d.fields) == 0 {
		return nil
	}
	return &domain.Error{Code: domain.EINVALID, Message: "invalid input", Fields: d.fields}
}

// Shape limits of request bodies: deeper nesting or longer arrays are
// refused before decoding, so hostile input cannot make the decoder work hard.
const (
	MaxJSONDepth       = 16
	MaxJSONArrayLength = 1000
)

// checkShape scans body once and refuses nesting deeper than MaxJSONDepth
// and arrays longer than MaxJSONArrayLength. It does not validate syntax;
// json.Unmarshal does that afterwards.
func checkShape(body []byte) error {
	type level struct {
		array bool
		items int
	}
	var stack []level
	inString, escaped := false, false
	for _, c := range body {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			if len(stack) > 0 && stack[len(stack)-1].array && stack[len(stack)-1].items == 0 {
				stack[len(stack)-1].items = 1
			}
			stack = append(stack, level{array: c == '['})
			if len(stack) > MaxJSONDepth {
				return problemf(domain.EINVALID, fmt.Sprintf("the body nests deeper than %d levels", MaxJSONDepth))
			}
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].array {
				stack[n-1].items++
				if stack[n-1].items >= MaxJSONArrayLength {
					return problemf(domain.EINVALID, fmt.Sprintf("the body has an array longer than %d items", MaxJSONArrayLength))
				}
			}
		}
	}
	return nil
}

// checkDuplicateKeys refuses an object, at any depth, that names the same
// key twice. encoding/json keeps the last value, and another reader of the
// same bytes (a proxy, a WAF, a log) may keep the first: the two would act
// on different requests. Syntax errors are left to json.Unmarshal.
func checkDuplicateKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object  bool
		keys    map[string]struct{}
		wantKey bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error json.Unmarshal reports
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.object {
					top.wantKey = true // this value ends; the next token is a key
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]struct{}{}, wantKey: true})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			if top != nil && top.object && top.wantKey {
				if _, dup := top.keys[t]; dup {
					return problemf(domain.EINVALID, "the body names a key twice",
						domain.FieldError{Field: t, Message: "is given more than once"})
				}
				top.keys[t] = struct{}{}
				top.wantKey = false
				continue
			}
		}
		if top != nil && top.object {
			top.wantKey = true
		}
	}
}
