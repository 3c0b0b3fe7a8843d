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

// handleLen is the length of a handle: 128 random bits in unpadded
// base64url.
const handleLen = 22

// newHandle returns a fresh session handle (see [Session.Handle]).
func newHandle() string {
	var b [16]byte
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

// validID reports whether s has the shape of an ID this package issues:
// 43 characters of the base64url alphabet. Anything else is never looked
// up in a store.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if notIDChar[s[i]] != 0 {
			return false
		}
	}
	return true
}

// storeKey returns the store key of id: the lowercase hex SHA-256 of id.
// The digest and its hex are built on the stack, so the key string is the
// only allocation.
func storeKey(id string) string {
	var in [64]byte // IDs are 43 bytes: hash a stack copy, not a heap one
	var sum [sha256.Size]byte
	if len(id) <= len(in) {
		sum = sha256.Sum256(in[:copy(in[:], id)])
	} else {
		sum = sha256.Sum256([]byte(id))
	}
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
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
