// Package secret makes and checks the secrets Muster keeps: single-use link
// tokens, whose hashes alone are stored, and argon2id password hashes.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// NewToken returns a 256-bit random token, URL-safe, and the hash to store.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b) // never returns an error (crypto/rand docs)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the stored form of a token. Tokens carry 256 bits of
// entropy, so a fast hash is enough: nobody can guess their way back.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Params are argon2id's cost parameters.
type Params struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultParams: 64 MiB, one pass, two lanes. RFC 9106's second recommended
// option uses t=3 (about 66 ms here); t=1 with p=2 keeps sign-in near
// 25-45 ms on two cores while staying memory-hard.
var DefaultParams = Params{Time: 1, MemoryKiB: 64 * 1024, Threads: 2}

// TestParams are cheap parameters for tests, which hash hundreds of
// passwords under the race detector. Never use them in production.
var TestParams = Params{Time: 1, MemoryKiB: 64, Threads: 1}

const (
	keyLen  = 32
	saltLen = 16
)

// HashPassword returns an argon2id hash of password with DefaultParams, in
// the PHC string format.
func HashPassword(password string) string { return DefaultParams.Hash(password) }

// Hash returns an argon2id hash of password with p, in the PHC string
// format, which records p so that CheckPassword needs no parameters.
func (p Params) Hash(password string) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	return p.format(salt, idKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen))
}

// DummyHash returns a hash with p's costs that no password matches (its
// key is random), to check against when no account matches, so that the
// answer takes as long. It costs nothing to make.
func (p Params) DummyHash() string {
	salt, key := make([]byte, saltLen), make([]byte, keyLen)
	rand.Read(salt)
	rand.Read(key)
	return p.format(salt, key)
}

func (p Params) format(salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// hashing bounds the argon2id hashes computed at once. Each takes its
// memory cost (64 MiB by default) for as long as it runs, so a burst of
// sign-ins must queue rather than take memory without bound; more at once
// than there are CPUs would not finish sooner anyway.
var hashing = make(chan struct{}, runtime.GOMAXPROCS(0))

func idKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	hashing <- struct{}{}
	defer func() { <-hashing }()
	return argon2.IDKey(password, salt, time, memory, threads, keyLen)
}

// ErrMalformedHash is returned for a stored hash that is not argon2id PHC.
var ErrMalformedHash = errors.New("secret: malformed password hash")

// CheckPassword reports whether password matches the PHC hash, in time that
// does not depend on where they differ.
func CheckPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, ErrMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false, ErrMalformedHash
	}
	got := idKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
