package checkpoint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// PublicKeySuffix is appended to a signer key file's path to name the file
// that holds its verifier key.
const PublicKeySuffix = ".pub"

// LoadOrCreateKey returns the signer whose key is in the file at path. When
// the file does not exist it makes a new key named name, writes it there
// (mode 0600, atomically: a crash leaves either no file or the whole key)
// and writes the verifier key to path+[PublicKeySuffix]. created reports
// whether the key is new. Two processes racing to create the key end up
// with the same one.
func LoadOrCreateKey(path, name string) (s *Signer, created bool, err error) {
	s, err = LoadSigner(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			err = writePublic(path, s)
		}
		return s, false, err
	}
	skey, _, err := GenerateKey(name)
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("checkpoint: key directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-key-*")
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint: create key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(skey + "\n")
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, false, fmt.Errorf("checkpoint: write key: %w", err)
		}
	} else {
		tmp.Close()
		return nil, false, fmt.Errorf("checkpoint: create key: %w", err)
	}
	// Link fails if another process created the key meanwhile: use theirs.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("checkpoint: install key %s: %w", path, err)
	} else if err == nil {
		created = true
		syncDir(filepath.Dir(path))
	}
	s, err = LoadSigner(path)
	if err != nil {
		return nil, false, err
	}
	return s, created, writePublic(path, s)
}

// writePublic writes the verifier key beside the signer key if it is not
// there or differs.
func writePublic(path string, s *Signer) error {
	pub := path + PublicKeySuffix
	if b, err := os.ReadFile(pub); err == nil && strings.TrimSpace(string(b)) == s.VerifierKey() {
		return nil
	}
	if err := os.WriteFile(pub, []byte(s.VerifierKey()+"\n"), 0o644); err != nil {
		return fmt.Errorf("checkpoint: write public key: %w", err)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// LoadSigner reads a signer key file. The error matches [fs.ErrNotExist]
// when there is no file.
func LoadSigner(path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read key: %w", err)
	}
	s, err := NewSigner(string(b))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: key %s: %w", path, err)
	}
	return s, nil
}

// ReadVerifier reads a verifier key file. A signer key file is accepted
// too (its public half is used), so that the operator can verify with the
// key the server signs with.
func ReadVerifier(path string) (*Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: read public key: %w", err)
	}
	text := strings.TrimSpace(string(b))
	if strings.HasPrefix(text, "PRIVATE+KEY+") {
		s, err := NewSigner(text)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: key %s: %w", path, err)
		}
		text = s.VerifierKey()
	}
	v, err := NewVerifier(text)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: public key %s: %w", path, err)
	}
	return v, nil
}
