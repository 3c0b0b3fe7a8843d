package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// idLen is the length of a session ID: 256 random bits in unpadded
// base64url.
const idLen = 43

// newID returns a fresh session ID: 32 bytes from crypto/rand (which never
// fails on supported platforms) in unpadded base64url.
func newID() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// notIDChar is 1 for every byte outside the base64url alphabet.
var notIDChar = func() (t [256]uint8) {
	for i := range t {
		c := byte(i)
		if !(c == '-' || c == '_' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			t[i] = 1
		}
	}
	return t
}()

// validID reports whether s has the shape of an ID this package issues.
// Anything else is never looked up in a store. It has no data-dependent
// branch, so random IDs cost no branch mispredictions, and it checks four
// bytes a step with independent accumulators.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	s = s[:idLen]
	var b0, b1, b2, b3 uint8
	i := 0
	for ; i+4 <= idLen; i += 4 {
		b0 |= notIDChar[s[i]]
		b1 |= notIDChar[s[i+1]]
		b2 |= notIDChar[s[i+2]]
		b3 |= notIDChar[s[i+3]]
	}
	for ; i < idLen; i++ {
		b0 |= notIDChar[s[i]]
	}
	return b0|b1|b2|b3 == 0
}

// storeKey returns the key under which the session with the given ID is
// stored: the lowercase hex SHA-256 of the ID, so that a leaked store or a
// timing side channel in it yields no live ID.
func storeKey(id string) string {
	var out [2 * sha256.Size]byte
	storeKeyTo(&out, id)
	return string(out[:])
}

// storeKeyTo writes [storeKey] of id to out, for a lookup that needs no
// string of it.
func storeKeyTo(out *[2 * sha256.Size]byte, id string) {
	var in [64]byte // IDs are 43 bytes: hash them without a heap copy
	var sum [sha256.Size]byte
	if len(id) <= len(in) {
		sum = sha256.Sum256(in[:copy(in[:], id)])
	} else {
		sum = sha256.Sum256([]byte(id))
	}
	hex.Encode(out[:], sum[:])
}

// StoreKey returns the key under which a session with the given ID is kept
// in the store: the lowercase hex SHA-256 of the ID. It is safe to log.
func StoreKey(id string) string { return storeKey(id) }

// logKey shortens a store key for log lines.
func logKey(key string) string {
	if len(key) > 16 {
		return key[:16]
	}
	return key
}
