// Package checkpoint makes and checks signed checkpoints of the event log: a
// statement "the log had Position events, the last with hash Hash, at Time",
// signed with an Ed25519 key kept beside the database. An auditor who keeps
// a checkpoint can later prove that the log still holds that prefix
// unchanged (see package verify).
//
// # Format
//
// A checkpoint is a signed note in the format of Go's checksum database
// (golang.org/x/mod/sumdb/note), with the body laid out as a C2SP
// tlog-checkpoint:
//
//	partyledger
//	1042
//	q0Z1xW0b3n8Y2dqbN2l3dJq8a3c0pV4Lr6WcM2l8pQY=
//	time 2026-11-20T09:00:00.000000000Z
//
//	— partyledger Az3grl0CpbOUv3Ys…
//
// The lines are: the origin (the log's name), the position of the last event
// covered, the base64 of that event's SHA-256 hash (the hex "hash" of the
// envelope, as raw bytes), and an extension line with the signing time. A
// blank line separates the body from the signature lines, each "— <key name>
// <base64 of the 4-byte key hash followed by the 64-byte Ed25519 signature
// of the body>". Keys are that package's text forms,
// "PRIVATE+KEY+<name>+<hash>+<base64>" and "<name>+<hash>+<base64>". Notes
// are signed and opened by golang.org/x/mod/sumdb/note itself; this package
// only lays out and parses the body.
package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// Errors callers branch on with errors.Is.
var (
	// ErrMalformed: the text is not a checkpoint note, or a key is not a key.
	ErrMalformed = errors.New("checkpoint: malformed")
	// ErrBadSignature: the note carries a signature line of the key that
	// does not verify: the note was altered or forged.
	ErrBadSignature = errors.New("checkpoint: the signature by the key does not verify")
	// ErrUnknownKey: the note carries no signature line of the key (it was
	// signed by another key, such as one rotated out).
	ErrUnknownKey = errors.New("checkpoint: not signed by the key")
)

// Checkpoint is what a note states about the log.
type Checkpoint struct {
	Origin   string    // the log's name, the note's first line
	Position int64     // the last position covered
	Hash     string    // hex SHA-256 hash of the event at Position
	Time     time.Time // when it was signed (UTC)
}

// Text returns the note body that is signed.
func (c Checkpoint) Text() (string, error) {
	if !validName(c.Origin) {
		return "", fmt.Errorf("%w: origin %q must be non-empty without spaces or '+'", ErrMalformed, c.Origin)
	}
	raw, err := hex.DecodeString(c.Hash)
	if err != nil || len(raw) != sha256.Size || c.Position < 1 {
		return "", fmt.Errorf("%w: hash %q at position %d (an empty log has no checkpoint)", ErrMalformed, c.Hash, c.Position)
	}
	return fmt.Sprintf("%s\n%d\n%s\ntime %s\n", c.Origin, c.Position,
		base64.StdEncoding.EncodeToString(raw), c.Time.UTC().Format(timeLayout)), nil
}

// timeLayout is the fixed-width time of the extension line.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// validName is the rule for origins and key names (the note package's
// rule for key names).
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 &&
		!strings.Contains(name, "+")
}

// GenerateKey makes a new Ed25519 key named name and returns it as a signer
// key (secret) and a verifier key (public), in the note key text forms.
func GenerateKey(name string) (skey, vkey string, err error) {
	if !validName(name) {
		return "", "", fmt.Errorf("%w: key name %q must be non-empty without spaces or '+'", ErrMalformed, name)
	}
	return note.GenerateKey(rand.Reader, name)
}

// Signer signs checkpoints. It is safe for concurrent use.
type Signer struct {
	s    note.Signer
	vkey string
}

// NewSigner parses a signer key made by [GenerateKey].
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: bad signer key: %v", ErrMalformed, err)
	}
	// The note package does not derive the verifier key from a signer key:
	// take the seed (the key's fifth field, after the algorithm byte; base64
	// may itself contain '+').
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize {
		return nil, fmt.Errorf("%w: bad signer key", ErrMalformed)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: bad signer key: %v", ErrMalformed, err)
	}
	return &Signer{s: s, vkey: vkey}, nil
}

// Name is the key's name, shown in signature lines.
func (s *Signer) Name() string { return s.s.Name() }

// VerifierKey returns the public key in verifier key form, for auditors.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed note of c.
func (s *Signer) Sign(c Checkpoint) (string, error) {
	text, err := c.Text()
	if err != nil {
		return "", err
	}
	msg, err := note.Sign(&note.Note{Text: text}, s.s)
	if err != nil {
		return "", fmt.Errorf("checkpoint: sign: %w", err)
	}
	return string(msg), nil
}

// Verifier checks notes signed by one key.
type Verifier struct {
	v note.Verifier
}

// NewVerifier parses a verifier key ("<name>+<hash>+<base64>").
func NewVerifier(vkey string) (*Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("%w: bad verifier key: %v", ErrMalformed, err)
	}
	return &Verifier{v: v}, nil
}

// Name is the key's name.
func (v *Verifier) Name() string { return v.v.Name() }

// Open checks that note carries a valid signature by v's key and returns
// the checkpoint it states. It returns an error matching [ErrMalformed] for
// text that is not a checkpoint note, [ErrUnknownKey] when no signature line
// names this key (signatures by other keys are ignored) and
// [ErrBadSignature] when one does but does not verify. CRLF line ends (a
// note pasted through a mail client) are read as LF.
func Open(msg []byte, v *Verifier) (Checkpoint, error) {
	c, err := Parse(msg) // a malformed body is malformed whoever signed it
	if err != nil {
		return Checkpoint{}, err
	}
	_, err = note.Open(crlf(msg), note.VerifierList(v.v))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return Checkpoint{}, ErrUnknownKey
	case errors.As(err, &invalid):
		return Checkpoint{}, ErrBadSignature
	case err != nil:
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return c, nil
}

// Parse returns the checkpoint a note states without checking any
// signature: for display only.
func Parse(msg []byte) (Checkpoint, error) {
	_, err := note.Open(crlf(msg), note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return parseText(unverified.Note.Text)
}

func crlf(msg []byte) []byte { return bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")) }

func parseText(text string) (Checkpoint, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return Checkpoint{}, fmt.Errorf("%w: want origin, position and hash lines", ErrMalformed)
	}
	var c Checkpoint
	c.Origin = lines[0]
	pos, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || pos < 1 || strconv.FormatInt(pos, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: bad position line %q", ErrMalformed, lines[1])
	}
	c.Position = pos
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != sha256.Size {
		return Checkpoint{}, fmt.Errorf("%w: bad hash line %q", ErrMalformed, lines[2])
	}
	c.Hash = hex.EncodeToString(raw)
	for _, l := range lines[3:] {
		if ts, ok := strings.CutPrefix(l, "time "); ok {
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				return Checkpoint{}, fmt.Errorf("%w: bad time line %q", ErrMalformed, l)
			}
			c.Time = t.UTC()
		}
	}
	return c, nil
}
