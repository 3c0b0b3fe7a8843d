package codec

import (
	"encoding/binary"
	"runtime"
	"testing"
)

// hostileSize is the size of the hostile inputs of the allocation tests:
// about what a store accepts by default.
const hostileSize = 1 << 20

// allocBound is the most a decoder may allocate for n bytes of hostile
// input: about four times its size, plus a little for fixed costs.
func allocBound(n int) uint64 { return 4*uint64(n) + 64<<10 }

// allocBytes returns the bytes f allocates per call, averaged over runs.
func allocBytes(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// hostileValues returns values of about hostileSize bytes that claim as
// many elements as the input could hold and then break off, so that
// whatever a decoder allocates for the claim is wasted.
func hostileValues() map[string][]byte {
	claim := func(tag byte, n int, elem []byte) []byte {
		b := binary.AppendUvarint([]byte{tag}, uint64(n)+1)
		for len(elem) > 0 && len(b) < hostileSize-len(elem) {
			b = append(b, elem...)
		}
		for len(b) < hostileSize {
			b = append(b, 0xff) // an unknown tag, or a malformed varint
		}
		return b
	}
	n := hostileSize
	vals := map[string][]byte{
		"[]any of nils, cut":         claim(tagSlice, n-8, []byte{tagNil}),
		"[]any claim":                claim(tagSlice, n-8, nil),
		"[]string claim":             claim(tagStrings, n-8, nil),
		"[]int claim":                claim(tagInts, n-8, nil),
		"[]int64 claim":              claim(tagInt64s, n-8, nil),
		"map[string]any claim":       claim(tagMap, n/2-8, nil),
		"map[string]string claim":    claim(tagStringMap, n/2-8, nil),
		"map[string]int claim":       claim(tagIntMap, n/2-8, nil),
		"map[string]any, dup keys":   claim(tagMap, n/2-8, []byte{0, tagNil}),
		"map[string]string dup keys": claim(tagStringMap, n/2-8, []byte{0, 0}),
	}
	// Nested: a []any whose every element is a map claiming what is left.
	nested := binary.AppendUvarint([]byte{tagSlice}, 1+1)
	for len(nested) < hostileSize-16 {
		nested = append(nested, tagMap)
		nested = binary.AppendUvarint(nested, uint64(hostileSize-len(nested))/2)
		nested = append(nested, 0) // empty key, then the next map as its value
	}
	vals["nested map claims"] = append(nested, 0xff)
	return vals
}

// TestDecodeHostileCountsAllocBound checks that Decode of values that
// claim large counts and then break off allocates at most about four
// times the input. It is not parallel: the allocation counters are the
// process's.
func TestDecodeHostileCountsAllocBound(t *testing.T) {
	c := New()
	for name, data := range hostileValues() {
		if _, err := c.Decode(data); err == nil {
			t.Fatalf("%s: Decode accepted the hostile value", name)
		}
		n := allocBytes(3, func() { _, _ = c.Decode(data) })
		t.Logf("%s: %d bytes: Decode allocates %d bytes (%.1fx)", name, len(data), n, float64(n)/float64(len(data)))
		if n > allocBound(len(data)) {
			t.Errorf("%s: Decode of %d bytes allocates %d bytes, want at most %d", name, len(data), n, allocBound(len(data)))
		}
	}
}
