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
// of the body>". Keys use the same text forms as that package:
// "PRIVATE+KEY+<name>+<hash>+<base64>" and "<name>+<hash>+<base64>", so its
// tools can check our notes.
package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// algEd25519 is the key-type byte of Ed25519 keys in the note key format.
const algEd25519 = 1

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

func validName(name string) bool {
	return name != "" && utf8.ValidString(name) && strings.IndexFunc(name, unicode.IsSpace) < 0 &&
		!strings.Contains(name, "+")
}

func keyHash(name string, key []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte("\n"))
	h.Write(key)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// GenerateKey makes a new Ed25519 key named name and returns it as a signer
// key (secret) and a verifier key (public), in the note key text forms.
func GenerateKey(name string) (skey, vkey string, err error) {
	if !validName(name) {
		return "", "", fmt.Errorf("%w: key name %q must be non-empty without spaces or '+'", ErrMalformed, name)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	pubkey := append([]byte{algEd25519}, pub...)
	privkey := append([]byte{algEd25519}, priv.Seed()...)
	h := keyHash(name, pubkey)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(privkey))
	vkey = fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(pubkey))
	return skey, vkey, nil
}

// Signer signs checkpoints. It is safe for concurrent use.
type Signer struct {
	name string
	hash uint32
	priv ed25519.PrivateKey
	vkey string
}

// NewSigner parses a signer key made by [GenerateKey].
func NewSigner(skey string) (*Signer, error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, fmt.Errorf("%w: not a PRIVATE+KEY signer key", ErrMalformed)
	}
	name, hash16, key64 := parts[2], parts[3], parts[4]
	key, err := base64.StdEncoding.DecodeString(key64)
	h, herr := strconv.ParseUint(hash16, 16, 32)
	if err != nil || herr != nil || len(hash16) != 8 || !validName(name) ||
		len(key) != 1+ed25519.SeedSize || key[0] != algEd25519 {
		return nil, fmt.Errorf("%w: bad signer key", ErrMalformed)
	}
	priv := ed25519.NewKeyFromSeed(key[1:])
	pubkey := append([]byte{algEd25519}, priv.Public().(ed25519.PublicKey)...)
	if uint32(h) != keyHash(name, pubkey) {
		return nil, fmt.Errorf("%w: signer key hash does not match the key", ErrMalformed)
	}
	return &Signer{name: name, hash: uint32(h), priv: priv,
		vkey: fmt.Sprintf("%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(pubkey))}, nil
}

// Name is the key's name, shown in signature lines.
func (s *Signer) Name() string { return s.name }

// VerifierKey returns the public key in verifier key form, for auditors.
func (s *Signer) VerifierKey() string { return s.vkey }

// Sign returns the signed note of c.
func (s *Signer) Sign(c Checkpoint) (string, error) {
	text, err := c.Text()
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(s.priv, []byte(text))
	var hb [4]byte
	binary.BigEndian.PutUint32(hb[:], s.hash)
	return text + "\n— " + s.name + " " + base64.StdEncoding.EncodeToString(append(hb[:], sig...)) + "\n", nil
}

// Verifier checks notes signed by one key.
type Verifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

// NewVerifier parses a verifier key ("<name>+<hash>+<base64>").
func NewVerifier(vkey string) (*Verifier, error) {
	parts := strings.SplitN(strings.TrimSpace(vkey), "+", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: not a verifier key", ErrMalformed)
	}
	name, hash16, key64 := parts[0], parts[1], parts[2]
	key, err := base64.StdEncoding.DecodeString(key64)
	h, herr := strconv.ParseUint(hash16, 16, 32)
	if err != nil || herr != nil || len(hash16) != 8 || !validName(name) ||
		len(key) != 1+ed25519.PublicKeySize || key[0] != algEd25519 || uint32(h) != keyHash(name, key) {
		return nil, fmt.Errorf("%w: bad verifier key", ErrMalformed)
	}
	return &Verifier{name: name, hash: uint32(h), pub: ed25519.PublicKey(key[1:])}, nil
}

// Name is the key's name.
func (v *Verifier) Name() string { return v.name }

// Open checks that note carries a valid signature by v's key and returns
// the checkpoint it states. It returns an error matching [ErrMalformed] for
// text that is not a checkpoint note, [ErrUnknownKey] when no signature line
// names this key (signatures by other keys are ignored) and
// [ErrBadSignature] when one does but does not verify.
func Open(note []byte, v *Verifier) (Checkpoint, error) {
	text, sigs, err := split(note)
	if err != nil {
		return Checkpoint{}, err
	}
	c, err := parseText(text)
	if err != nil {
		return Checkpoint{}, err
	}
	claimed := false
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "— ")
		if !ok {
			return Checkpoint{}, fmt.Errorf("%w: bad signature line %q", ErrMalformed, line)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok {
			return Checkpoint{}, fmt.Errorf("%w: bad signature line %q", ErrMalformed, line)
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 5 {
			return Checkpoint{}, fmt.Errorf("%w: bad signature line %q", ErrMalformed, line)
		}
		if name != v.name || binary.BigEndian.Uint32(sig) != v.hash {
			continue // another key's
		}
		claimed = true
		if ed25519.Verify(v.pub, []byte(text), sig[4:]) {
			return c, nil
		}
	}
	if !claimed {
		return Checkpoint{}, ErrUnknownKey
	}
	return Checkpoint{}, ErrBadSignature
}

// Parse returns the checkpoint a note states without checking any
// signature: for display only.
func Parse(note []byte) (Checkpoint, error) {
	text, _, err := split(note)
	if err != nil {
		return Checkpoint{}, err
	}
	return parseText(text)
}

// split separates the body (ending in "\n") from the signature lines.
func split(note []byte) (text, sigs string, err error) {
	s := string(bytes.ReplaceAll(note, []byte("\r\n"), []byte("\n")))
	if !utf8.ValidString(s) {
		return "", "", fmt.Errorf("%w: not UTF-8", ErrMalformed)
	}
	i := strings.LastIndex(s, "\n\n")
	if i < 0 {
		return "", "", fmt.Errorf("%w: no blank line before the signatures", ErrMalformed)
	}
	text, sigs = s[:i+1], s[i+2:]
	if sigs == "" || !strings.HasSuffix(sigs, "\n") {
		return "", "", fmt.Errorf("%w: no signature lines", ErrMalformed)
	}
	return text, sigs, nil
}

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
