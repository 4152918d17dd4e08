package registry

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// MinSecretLen is the shortest secret NewSealer and NewRedis accept.
const MinSecretLen = 16

// Errors returned when opening a sealed value.
var (
	// ErrSealed is returned for a value that does not open under the key it
	// was read from: altered, copied from another key or sealed with
	// another secret.
	ErrSealed = errors.New("registry: sealed value rejected")
	// ErrStale is returned for a value whose sealed expiry has passed: a
	// replayed old value.
	ErrStale = errors.New("registry: sealed value expired")
)

// apicrud's published default secret: refused, since everyone knows it.
const publicDefaultSecret = "5bj27gMy6Kbb37A7P"

const sealVersion = 1

// Sealer seals values with AES-256-GCM under a key derived from a secret by
// HKDF-SHA256. Each value is bound to the name it is stored under (the
// additional authenticated data) and carries its expiry, so a value moved to
// another name, altered or replayed after it expired does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the sealing key from secret, which must be at least
// MinSecretLen bytes. purpose separates the keys of different uses of the
// same secret.
func NewSealer(secret []byte, purpose string) (*Sealer, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("registry: secret must be at least %d bytes, got %d", MinSecretLen, len(secret))
	}
	if string(secret) == publicDefaultSecret {
		return nil, errors.New("registry: refusing apicrud's published default secret")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, "replicaflow "+purpose+" v1", 32)
	if err != nil {
		return nil, fmt.Errorf("registry: deriving key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns plaintext sealed for the storage name, valid until expires
// (the zero time: no expiry).
func (s *Sealer) Seal(name string, plaintext []byte, expires time.Time) []byte {
	var exp int64
	if !expires.IsZero() {
		exp = expires.UnixMilli()
	}
	msg := make([]byte, 8, 8+len(plaintext))
	binary.BigEndian.PutUint64(msg, uint64(exp))
	msg = append(msg, plaintext...)
	ns := s.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(msg)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1 : 1+ns]); err != nil {
		panic("replicaflow: crypto/rand failed: " + err.Error())
	}
	return s.aead.Seal(out, out[1:1+ns], msg, []byte(name))
}

// Open checks a value read from the storage name and returns its plaintext
// and expiry. It returns ErrSealed or ErrStale for a value it rejects.
func (s *Sealer) Open(name string, sealed []byte, now time.Time) ([]byte, time.Time, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < 1+ns+s.aead.Overhead()+8 || sealed[0] != sealVersion {
		return nil, time.Time{}, ErrSealed
	}
	msg, err := s.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte(name))
	if err != nil || len(msg) < 8 {
		return nil, time.Time{}, ErrSealed
	}
	var expires time.Time
	if exp := int64(binary.BigEndian.Uint64(msg)); exp != 0 {
		expires = time.UnixMilli(exp)
		if !now.Before(expires) {
			return nil, expires, ErrStale
		}
	}
	return msg[8:], expires, nil
}
