package codec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core/record"
)

// fuzzCodec returns a codec with registered types, so that the fuzzer
// reaches the JSON path too.
func fuzzCodec() *Binary {
	c := New()
	Register[codecUser](c, "user")
	Register[*codecCart](c, "cart")
	Register[codecRole](c, "role")
	return c
}

// FuzzCodecDecode checks that Decode never panics and fails only with
// record.ErrCorrupt, and that whatever it accepts encodes again, decodes to a
// value of the same type and encodes to the same bytes.
//
// The seed corpus lives in testdata/fuzz/FuzzCodecDecode: valid encodings
// of every supported type plus garbage (see TestFuzzCodecSeedsCoverTags).
func FuzzCodecDecode(f *testing.F) {
	c := fuzzCodec()
	for _, tc := range codecCases() {
		b, err := c.Encode(nil, tc.v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		v, err := c.Decode(data)
		if !bytes.Equal(data, orig) {
			t.Fatal("Decode modified its input")
		}
		if err != nil {
			if !errors.Is(err, record.ErrCorrupt) {
				t.Fatalf("Decode error %v does not wrap record.ErrCorrupt", err)
			}
			if v != nil {
				t.Fatalf("Decode returned %#v with error %v", v, err)
			}
			return
		}
		b1, err := c.Encode(nil, v)
		if err != nil {
			t.Fatalf("Encode of decoded %T: %v", v, err)
		}
		v2, err := c.Decode(b1)
		if err != nil {
			t.Fatalf("Decode of re-encoded %T: %v", v, err)
		}
		if reflect.TypeOf(v2) != reflect.TypeOf(v) {
			t.Fatalf("type changed: %T then %T", v, v2)
		}
		b2, err := c.Encode(nil, v2)
		if err != nil {
			t.Fatalf("second Encode of %T: %v", v2, err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encode→decode→encode is not stable:\n%q\n%q", b1, b2)
		}
	})
}

// TestFuzzCodecSeedsCoverTags checks that the committed seed corpus holds
// a valid encoding starting with every tag, and some garbage.
func TestFuzzCodecSeedsCoverTags(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "fuzz", "FuzzCodecDecode")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := fuzzCodec()
	seen := make(map[byte]bool)
	garbage := 0
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		data := parseCorpusFile(t, f.Name(), string(raw))
		if _, err := c.Decode(data); err != nil {
			garbage++
			continue
		}
		seen[data[0]] = true
	}
	for tag := range numTags {
		if !seen[tag] {
			t.Errorf("no valid seed starts with tag %d", tag)
		}
	}
	if garbage == 0 {
		t.Error("no invalid seed")
	}
}

// parseCorpusFile reads a one-value "go test fuzz v1" file holding a
// []byte.
func parseCorpusFile(t *testing.T, name, s string) []byte {
	t.Helper()
	header, body, ok := strings.Cut(s, "\n")
	if !ok || header != "go test fuzz v1" {
		t.Fatalf("%s: not a fuzz corpus file", name)
	}
	body = strings.TrimSpace(body)
	q, ok := strings.CutPrefix(body, "[]byte(")
	if !ok || !strings.HasSuffix(q, ")") {
		t.Fatalf("%s: not a single []byte value: %q", name, body)
	}
	u, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(u)
}
