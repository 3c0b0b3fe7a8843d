package codec

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"testing"
	"time"
)

// typicalSession is what a logged-in user's session usually holds.
func typicalSession() map[string]any {
	return map[string]any{
		"user_id":  42,
		"name":     "Alice Example",
		"admin":    false,
		"verified": true,
		"beta":     true,
		"login_at": time.Date(2026, 5, 17, 9, 30, 12, 123456789, time.UTC),
		"roles":    []string{"editor", "viewer"},
	}
}

// BenchmarkCodecEncode encodes the whole typical session as one
// map[string]any with each format. gob needs a fresh Encoder per value
// because every stored value must be decodable on its own.
func BenchmarkCodecEncode(b *testing.B) {
	v := typicalSession()
	b.Run("binary", func(b *testing.B) {
		c := New()
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if buf, err = c.Encode(buf[:0], v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(buf)), "bytes")
	})
	b.Run("gob", func(b *testing.B) {
		gob.Register(time.Time{})
		var buf bytes.Buffer
		b.ReportAllocs()
		for b.Loop() {
			buf.Reset()
			if err := gob.NewEncoder(&buf).Encode(v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
	b.Run("json", func(b *testing.B) {
		var out []byte
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if out, err = json.Marshal(v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(out)), "bytes")
	})
}

// BenchmarkCodecDecode decodes what BenchmarkCodecEncode produced. Only
// binary and gob give back the same Go types; JSON turns 42 into
// float64(42) and the time into a string.
func BenchmarkCodecDecode(b *testing.B) {
	v := typicalSession()
	b.Run("binary", func(b *testing.B) {
		c := New()
		data, err := c.Encode(nil, v)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("gob", func(b *testing.B) {
		gob.Register(time.Time{})
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(v); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		data, err := json.Marshal(v)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCodecEntries encodes and decodes the typical session the way
// the manager does: one value per session key.
func BenchmarkCodecEntries(b *testing.B) {
	v := typicalSession()
	c := New()
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		b.ReportAllocs()
		for b.Loop() {
			buf = buf[:0]
			for _, x := range v {
				var err error
				if buf, err = c.Encode(buf, x); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		var encs [][]byte
		for _, x := range v {
			e, err := c.Encode(nil, x)
			if err != nil {
				b.Fatal(err)
			}
			encs = append(encs, e)
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, e := range encs {
				if _, err := c.Decode(e); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
