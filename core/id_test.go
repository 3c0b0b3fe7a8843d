package core

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// TestValidIDTable checks validID against the base64url alphabet for
// every byte value at every position of an ID.
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

// TestIDsDistinctAndWellFormed draws a million IDs: all distinct, 43
// characters of unpadded base64url decoding to 32 bytes, accepted by
// validID, and together using the whole alphabet.
func TestIDsDistinctAndWellFormed(t *testing.T) {
	t.Parallel()
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	seen := make(map[string]struct{}, n)
	var chars [256]bool
	for i := 0; i < n; i++ {
		id := newID()
		if len(id) != 43 || !validID(id) {
			t.Fatalf("ID %q: length %d or alphabet not base64url", id, len(id))
		}
		if _, dup := seen[id]; dup {
			t.Fatalf("ID %q drawn twice in %d draws", id, i+1)
		}
		seen[id] = struct{}{}
		if i < 1000 {
			b, err := base64.RawURLEncoding.DecodeString(id)
			if err != nil || len(b) != 32 {
				t.Fatalf("ID %q does not decode to 32 bytes: %d, %v", id, len(b), err)
			}
		}
		for j := 0; j < len(id); j++ {
			chars[id[j]] = true
		}
	}
	used := 0
	for _, ok := range chars {
		if ok {
			used++
		}
	}
	if used != 64 {
		t.Fatalf("%d IDs used %d distinct characters, want all 64 of base64url", n, used)
	}
}

// TestStoreKeyHex checks storeKey, and StoreKey which exports it, against
// encoding/hex of the SHA-256 of random IDs.
func TestStoreKeyHex(t *testing.T) {
	for range 1000 {
		id := newID()
		sum := sha256.Sum256([]byte(id))
		want := hex.EncodeToString(sum[:])
		if got := storeKey(id); got != want {
			t.Fatalf("storeKey(%q) = %s, want %s", id, got, want)
		}
		if got := StoreKey(id); got != want {
			t.Fatalf("StoreKey(%q) = %s, want %s", id, got, want)
		}
	}
}

// BenchmarkStoreKey measures the store key of an ID: its SHA-256 and the
// hex of that, as every request with a session cookie pays for it.
func BenchmarkStoreKey(b *testing.B) {
	id := newID()
	var key string
	for b.Loop() {
		key = storeKey(id)
	}
	if sum := sha256.Sum256([]byte(id)); key != hex.EncodeToString(sum[:]) {
		b.Fatal("storeKey differs from encoding/hex of the SHA-256")
	}
}
