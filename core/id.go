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

// Bitmaps of the base64url alphabet, by byte value: bytes 0-63 and 64-127.
const (
	idCharsLo = 1<<'-' | 0x3FF<<'0'                                     // '-', '0'-'9'
	idCharsHi = 0x3FFFFFF<<('A'-64) | 1<<('_'-64) | 0x3FFFFFF<<('a'-64) // 'A'-'Z', '_', 'a'-'z'
)

// validID reports whether s has the shape of an ID this package issues.
// Anything else is never looked up in a store. It has no data-dependent
// branch, so random IDs cost no branch mispredictions.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	masks := [4]uint64{idCharsLo, idCharsHi, 0, 0}
	var bad uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		bad |= ^(masks[c>>6] >> (c & 63)) & 1
	}
	return bad == 0
}

// storeKey returns the key under which the session with the given ID is
// stored: the lowercase hex SHA-256 of the ID, so that a leaked store or a
// timing side channel in it yields no live ID.
func storeKey(id string) string {
	var in [64]byte // IDs are 43 bytes: hash them without a heap copy
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
