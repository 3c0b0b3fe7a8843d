package memcachestore

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// userMarker starts the suffix of a user item's key. Neither plainKey nor
// the hashed form of a session key ("#" and hex) ever holds it, so a user
// item never shares a key with a session.
const userMarker = "!"

// userItemKey returns the memcached key of the item of user key uk:
// prefix, [userMarker] and uk when it is the lowercase hex SHA-256 that
// record.UserKey makes (so that an operator finds the item of a user),
// the hex SHA-256 of uk otherwise. It always fits memcached's limit.
func (s *Store) userItemKey(uk string) string {
	if isLowerHex64(uk) {
		return s.prefix + userMarker + uk
	}
	sum := sha256.Sum256([]byte(uk))
	return s.prefix + userMarker + hex.EncodeToString(sum[:])
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// userItem is the decoded item of one user: its generation and the
// entries naming the user's sessions.
//
// Layout, version 1:
//
//	[0]    version (1)
//	[1:9]  generation, big-endian, never 0
//	then per entry:
//	  [1]     handle length h (1-255)
//	  [h]     handle
//	  [2]     key length k (1-65535), big-endian
//	  [k]     store key of the session's record
//	  [8]     when the entry was written or repointed, Unix seconds, big-endian
type userItem struct {
	gen     uint64
	entries []userEntry
}

type userEntry struct {
	handle string
	key    string
	added  int64
}

const (
	userItemVersion = 1
	userItemHeader  = 9
	maxEntryKey     = 1<<16 - 1
)

var errBadUserItem = errors.New("memcachestore: malformed user item")

// decodeUserItem parses a user item. Anything that is not one (another
// version, a zero generation, a truncated or empty field, a handle listed
// twice) is an error: the caller treats the item as holding no valid
// sessions.
func decodeUserItem(b []byte) (*userItem, error) {
	if len(b) < userItemHeader || b[0] != userItemVersion {
		return nil, errBadUserItem
	}
	u := &userItem{gen: binary.BigEndian.Uint64(b[1:9])}
	if u.gen == 0 {
		return nil, errBadUserItem
	}
	seen := make(map[string]struct{})
	for p := b[userItemHeader:]; len(p) > 0; {
		h := int(p[0])
		if h == 0 || len(p) < 1+h+2 {
			return nil, errBadUserItem
		}
		handle := string(p[1 : 1+h])
		p = p[1+h:]
		k := int(binary.BigEndian.Uint16(p))
		if k == 0 || len(p) < 2+k+8 {
			return nil, errBadUserItem
		}
		key := string(p[2 : 2+k])
		added := int64(binary.BigEndian.Uint64(p[2+k:]))
		p = p[2+k+8:]
		if _, dup := seen[handle]; dup {
			return nil, errBadUserItem
		}
		seen[handle] = struct{}{}
		u.entries = append(u.entries, userEntry{handle: handle, key: key, added: added})
	}
	return u, nil
}

// listsEntry reports whether the user item b holds generation gen and
// lists handle h under key: what makes a bound record valid. It reads b
// in place, allocating nothing, and reports false for anything
// [decodeUserItem] would refuse as far as this check is concerned: a
// malformed item, or one listing h twice.
func listsEntry(b []byte, gen uint64, h, key string) bool {
	if len(b) < userItemHeader || b[0] != userItemVersion {
		return false
	}
	if g := binary.BigEndian.Uint64(b[1:9]); g == 0 || g != gen {
		return false
	}
	found := false
	for p := b[userItemHeader:]; len(p) > 0; {
		n := int(p[0])
		if n == 0 || len(p) < 1+n+2 {
			return false
		}
		handle := p[1 : 1+n]
		p = p[1+n:]
		k := int(binary.BigEndian.Uint16(p))
		if k == 0 || len(p) < 2+k+8 {
			return false
		}
		if string(handle) == h {
			if found {
				return false
			}
			found = string(p[2:2+k]) == key
			if !found {
				return false
			}
		}
		p = p[2+k+8:]
	}
	return found
}

// encode returns the item's bytes. It fails for a handle or key too long
// for the layout, which core never passes.
func (u *userItem) encode() ([]byte, error) {
	n := userItemHeader
	for _, e := range u.entries {
		n += 1 + len(e.handle) + 2 + len(e.key) + 8
	}
	b := make([]byte, 0, n)
	b = append(b, userItemVersion)
	b = binary.BigEndian.AppendUint64(b, u.gen)
	for _, e := range u.entries {
		if len(e.handle) == 0 || len(e.handle) > 255 || len(e.key) == 0 || len(e.key) > maxEntryKey {
			return nil, fmt.Errorf("memcachestore: user index entry with a %d-byte handle and a %d-byte key", len(e.handle), len(e.key))
		}
		b = append(b, byte(len(e.handle)))
		b = append(b, e.handle...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.key)))
		b = append(b, e.key...)
		b = binary.BigEndian.AppendUint64(b, uint64(e.added))
	}
	return b, nil
}

// find returns the index of the entry of handle h, or -1.
func (u *userItem) find(h string) int {
	for i, e := range u.entries {
		if e.handle == h {
			return i
		}
	}
	return -1
}
