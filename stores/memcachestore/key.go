package memcachestore

import (
	"crypto/sha256"
	"encoding/hex"
)

// maxKeyLen is memcached's limit on the length of a key.
const maxKeyLen = 250

// hashMarker starts the suffix of a hashed key. It is not a byte that
// plainKey accepts, so a plain key can never look like a hashed one and
// the mapping from store keys to memcached keys is one-to-one.
const hashMarker = "#"

// legalKeyByte reports whether memcached accepts b in a key: anything but
// spaces, control characters and DEL.
func legalKeyByte(b byte) bool {
	return b > ' ' && b != 0x7f
}

// plainKeyByte reports whether b may appear in a key used as is. The set is
// deliberately narrow (the hex keys core passes and common ID alphabets);
// anything else is hashed.
func plainKeyByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	case b == '-', b == '_', b == '.', b == ':':
		return true
	}
	return false
}

// itemKey returns the memcached key for the store key. A key made of plain
// bytes that fits memcached's limit after the prefix is used as is;
// anything else becomes the prefix, the hash marker and the hex SHA-256 of
// the key.
func (s *Store) itemKey(key string) string {
	if len(s.prefix)+len(key) <= maxKeyLen && isPlain(key) {
		return s.prefix + key
	}
	sum := sha256.Sum256([]byte(key))
	b := make([]byte, 0, len(s.prefix)+len(hashMarker)+2*len(sum))
	b = append(b, s.prefix...)
	b = append(b, hashMarker...)
	b = hex.AppendEncode(b, sum[:])
	return string(b)
}

func isPlain(key string) bool {
	for i := 0; i < len(key); i++ {
		if !plainKeyByte(key[i]) {
			return false
		}
	}
	return true
}
