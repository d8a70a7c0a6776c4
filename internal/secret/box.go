package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a server key: AES-256.
const KeySize = 32

// Box seals the secrets Muster must be able to read back (webhook signing
// secrets) with the server's key, so that a copy of the database alone does
// not reveal them: AES-256-GCM with a random nonce, and additional data
// that binds a sealed value to where it belongs.
type Box struct {
	aead cipher.AEAD
}

// boxVersion starts every sealed value, so that another scheme (a new key
// with an id) can be told apart later.
const boxVersion = 1

// NewBox returns a Box with key, which must be KeySize bytes.
func NewBox(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: the key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; Open with the same additional data gets it back.
func (b *Box) Seal(plaintext, additional []byte) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	out := append([]byte{boxVersion}, nonce...)
	return b.aead.Seal(out, nonce, plaintext, additional)
}

// ErrSealed says that a sealed value could not be opened: another key
// sealed it, or it was changed.
var ErrSealed = errors.New("secret: the value cannot be decrypted with this server's key")

// Open decrypts what Seal sealed with the same additional data.
func (b *Box) Open(sealed, additional []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != boxVersion {
		return nil, ErrSealed
	}
	out, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additional)
	if err != nil {
		return nil, ErrSealed
	}
	return out, nil
}

// ParseKey reads a server key given as base64 (standard or URL alphabet,
// padded or not) of KeySize bytes. Its error never quotes the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("must be base64 of %d bytes, not of %d (make one with: openssl rand -base64 32)", KeySize, len(key))
			}
			return key, nil
		}
	}
	return nil, fmt.Errorf("is not base64 (make one with: openssl rand -base64 32)")
}

// LoadOrCreateKeyFile reads the server key kept in the file at path, as
// base64, or creates the file with a new random key, readable by its owner
// alone, when there is none. It reports whether it created it.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("the key file %s %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	key = make([]byte, KeySize)
	rand.Read(key)
	// Written whole under another name, then linked into place: a process
	// starting at the same moment reads either no file or a whole key.
	f, err := os.CreateTemp(filepath.Dir(path), ".secret-key-*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, false, err
	}
	if err := f.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadOrCreateKeyFile(path) // another process made it first: use theirs
	} else if err != nil {
		return nil, false, err
	}
	return key, true, nil
}
