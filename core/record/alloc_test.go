package record

import (
	"testing"
	"time"
)

// hostileSize is the size of the hostile inputs of the allocation tests:
// about what a store accepts by default.
const hostileSize = 1 << 20

// allocBound is the most a decoder may allocate for n bytes of hostile
// input: about four times its size, plus a little for fixed costs.
func allocBound(n int) uint64 { return 4*uint64(n) + 64<<10 }

// hostileRecords returns records of about hostileSize bytes, of many tiny
// entries (each value a bare deadline), that are cheap to write and could
// be costly to parse.
func hostileRecords() map[string][]byte {
	hdr := NewHeader(false, time.Now(), time.Now().Add(time.Hour))
	tiny := func(keyLen int) []byte {
		b := append([]byte(nil), hdr...)
		key := make([]byte, keyLen)
		for i := 0; len(b) < hostileSize; i++ {
			for j := range key {
				key[j] = byte(i >> (8 * j)) // distinct keys, as far as they go
			}
			b = appendEntry(b, string(key), make([]byte, entryHeader))
		}
		return b
	}
	return map[string][]byte{
		"empty keys":  tiny(0),
		"1-byte keys": tiny(1),
		"2-byte keys": tiny(2),
		"4-byte keys": tiny(4),
		"9-byte keys": tiny(9),
	}
}

// TestParseAllocBound checks that Parse allocates at most about four times
// the size of a record made of many tiny entries. It is not parallel: the
// allocation counters are the process's.
func TestParseAllocBound(t *testing.T) {
	for name, data := range hostileRecords() {
		r, err := Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := allocBytes(3, func() { _, _ = Parse(data) })
		t.Logf("%s: %d bytes, %d entries: Parse allocates %d bytes (%.1fx)", name, len(data), len(r.Entries), n, float64(n)/float64(len(data)))
		if n > allocBound(len(data)) {
			t.Errorf("%s: Parse of %d bytes allocates %d bytes, want at most %d", name, len(data), n, allocBound(len(data)))
		}
	}
}
