package core

import "testing"

// TestValidIDTable checks the bitmaps of validID against the base64url
// alphabet, byte by byte.
func TestValidIDTable(t *testing.T) {
	for c := 0; c < 256; c++ {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
		s := string(append([]byte(newID()[:42]), byte(c)))
		if validID(s) != ok {
			t.Fatalf("byte %d: validID %v, want %v", c, !ok, ok)
		}
	}
}
