package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	hexEncode(out, &sum)
}

// hexEncode writes sum in lowercase hex to out, four bytes at a time: the
// eight nibbles are spread to a byte each, then turned into digits
// without a branch or a table.
func hexEncode(out *[2 * sha256.Size]byte, sum *[sha256.Size]byte) {
	const lows = 0x0101010101010101 // the low bit of every byte
	for i := 0; i < sha256.Size; i += 4 {
		x := uint64(binary.BigEndian.Uint32(sum[i : i+4]))
		x = (x | x<<16) & 0x0000FFFF0000FFFF
		x = (x | x<<8) & 0x00FF00FF00FF00FF
		x = (x | x<<4) & 0x0F0F0F0F0F0F0F0F // a nibble a byte, high one first
		// Nibbles of 10 and more carry into bit 4 when 6 is added; they
		// move up by 'a'-'0'-10 = 39 on top of '0'.
		tens := (x + lows*6) >> 4 & lows
		binary.BigEndian.PutUint64(out[2*i:2*i+8], x+lows*'0'+tens*39)
	}
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
