package core

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestValidIDTable checks validID against the base64url alphabet for
// every byte value at every position of an ID, so that each of its four
// accumulators and its tail loop are covered.
func TestValidIDTable(t *testing.T) {
	for pos := range idLen {
		for c := range 256 {
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
			b := []byte(newID())
			b[pos] = byte(c)
			if validID(string(b)) != ok {
				t.Fatalf("byte %d at %d: validID %v, want %v", c, pos, !ok, ok)
			}
		}
	}
	for _, s := range []string{"", newID()[:42], newID() + "A", "\x00" + newID()[1:]} {
		if validID(s) {
			t.Errorf("validID(%q) = true", s)
		}
	}
}

// TestStoreKeyHex checks storeKey's hex against encoding/hex, for digests
// of random IDs and for digests made to hold every byte value.
func TestStoreKeyHex(t *testing.T) {
	for range 1000 {
		id := newID()
		sum := sha256.Sum256([]byte(id))
		if got, want := storeKey(id), hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("storeKey(%q) = %s, want %s", id, got, want)
		}
	}
	var out [2 * sha256.Size]byte
	for start := 0; start < 256; start += sha256.Size {
		var sum [sha256.Size]byte
		for i := range sum {
			sum[i] = byte(start + i)
		}
		hexEncode(&out, &sum)
		if got, want := string(out[:]), hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("hexEncode(% x) = %s, want %s", sum, got, want)
		}
	}
	var sum [sha256.Size]byte
	for range 1000 {
		rand.Read(sum[:])
		hexEncode(&out, &sum)
		if got, want := string(out[:]), hex.EncodeToString(sum[:]); got != want {
			t.Fatalf("hexEncode(% x) = %s, want %s", sum, got, want)
		}
	}
}

// BenchmarkStoreKey measures the store key of an ID: its SHA-256 and the
// hex of that, as every request with a session cookie pays for it.
func BenchmarkStoreKey(b *testing.B) {
	id := newID()
	var out [2 * sha256.Size]byte
	for b.Loop() {
		storeKeyTo(&out, id)
	}
	if sum := sha256.Sum256([]byte(id)); string(out[:]) != hex.EncodeToString(sum[:]) {
		b.Fatal("storeKeyTo differs from encoding/hex of the SHA-256")
	}
}
