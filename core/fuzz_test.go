package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/codec"
	"github.com/sessionkit/sessionkit/core/record"
)

// The seed corpora of these fuzzers live in testdata/fuzz/<name>, so plain
// `go test` runs every seed; `go test -fuzz=FuzzX ./core` explores further.

// fuzzCookieValues returns the values of the cookies named name among the
// Cookie header lines, as a server splitting on ';' and '=' sees them (with
// one pair of surrounding double quotes removed): the only values Token may
// return.
func fuzzCookieValues(lines []string, name string) []string {
	var out []string
	for _, line := range lines {
		for _, part := range strings.Split(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			out = append(out, v)
		}
	}
	return out
}

// FuzzToken feeds arbitrary Cookie header lines and token headers to
// Manager.Token and Manager.Load: no panic, the token is "" or one of the
// values the client sent under the session cookie's name (the first with
// the shape of an ID when there is one, as Token's doc says), and Load
// adopts nothing: a token no store holds gives a new session without an ID.
func FuzzToken(f *testing.F) {
	id := newID()
	for _, seed := range [][2]string{
		{"session=" + id, ""},
		{"a=1; session=x; session=" + id, "session=" + id},
		{`session="` + id + `"`, "session=\xff\xfe"},
		{"session=", "session"},
		{";;;=;session==;", " session = " + id},
	} {
		f.Add(seed[0], seed[1])
	}
	st := newRawStore()
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	cm := NewManager(st, quiet)
	hm := NewManager(st, quiet, WithHeaderToken("X-Session"))
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1, line2}
		r := &http.Request{Header: http.Header{"Cookie": lines, "X-Session": lines}}
		tok := cm.Token(r)
		vals := fuzzCookieValues(lines, "session")
		want := ""
		for _, v := range vals {
			if validID(v) {
				want = v
				break
			}
		}
		if want == "" && len(vals) > 0 {
			want = vals[0]
		}
		if tok != want {
			t.Fatalf("Token(%q) = %q, want %q (cookie values %q)", lines, tok, want, vals)
		}
		htok := hm.Token(r)
		if htok != strings.TrimSpace(line1) {
			t.Fatalf("header Token(%q) = %q, want the first line trimmed", lines, htok)
		}
		for _, m := range []*Manager{cm, hm} {
			for _, tk := range []string{tok, htok} {
				s, err := m.Load(context.Background(), tk)
				if err != nil {
					t.Fatalf("Load(%q): %v", tk, err)
				}
				if s.ID() != "" || len(s.Keys()) != 0 || s.exists {
					t.Fatalf("Load(%q) adopted a token no store holds: ID %q", tk, s.ID())
				}
			}
		}
	})
}

// fuzzLiveCopy returns a copy of data turned into a version-1 record that
// is live at now (when data is long enough for a header), so that the
// fuzzer reaches the entry decoding behind the expiry check.
func fuzzLiveCopy(data []byte, now time.Time) []byte {
	c := append([]byte(nil), data...)
	if len(c) >= record.HeaderSize {
		// Keep the fuzzed flags byte; replace version, expiry and created.
		h := record.NewHeader(false, now.Add(-time.Minute), now.Add(time.Hour))
		c[0] = h[0]
		copy(c[2:record.HeaderSize], h[2:])
	}
	return c
}

// FuzzRecord feeds arbitrary bytes to record.Parse, record.Apply and
// Manager.Load (through a store seeded with them): no panic; whatever
// record.Parse accepts rebuilds to the same bytes; record.Apply either
// fails or returns a record that parses; Load never fails on garbage and
// gives either the stored session or a new one without an ID.
func FuzzRecord(f *testing.F) {
	now := time.Now()
	val := func(v any) []byte {
		b, err := codec.New().Encode(record.EncodeEntry(nil, time.Time{}, nil), v)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	hdr := record.NewHeader(false, now, now.Add(time.Hour))
	f.Add(hdr)
	f.Add(record.Append(nil, hdr, []record.Entry{{Key: "n", Value: val(1)}, {Key: "name", Value: val("ada")}}))
	f.Add(record.Append(nil, record.NewHeader(true, now, now.Add(-time.Hour)), []record.Entry{{Key: "x", Value: val(true)}}))
	f.Add(append(append([]byte(nil), hdr...), binary.AppendUvarint(nil, 1<<40)...))
	f.Add([]byte("garbage"))

	st := newRawStore()
	m := NewManager(st, WithLogger(slog.New(slog.DiscardHandler)))
	id := newID()
	key := storeKey(id)

	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Now()
		for _, d := range [][]byte{data, fuzzLiveCopy(data, now)} {
			r, err := record.Parse(d)
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("record.Parse: error %v does not match ErrCorrupt", err)
			}
			if err == nil {
				for _, e := range r.Entries {
					_, _, _ = record.DecodeEntry(e.Value)
				}
				// Rebuilt, it parses to the same entries (length prefixes
				// may have been written in a longer form than needed).
				again := record.Append(nil, d[:record.HeaderSize], r.Entries)
				r2, err := record.Parse(again)
				if err != nil || len(r2.Entries) != len(r.Entries) {
					t.Fatalf("record.Parse accepted %x, whose rebuild %x parses as %d entries, %v", d, again, len(r2.Entries), err)
				}
				for i := range r.Entries {
					if r.Entries[i].Key != r2.Entries[i].Key || !bytes.Equal(r.Entries[i].Value, r2.Entries[i].Value) {
						t.Fatalf("entry %d changed in the rebuild of %x", i, d)
					}
				}
			}
			for _, delta := range []*record.Delta{
				{Expiry: now.Add(time.Hour), Set: []record.Entry{{Key: "n", Value: record.EncodeEntry(nil, time.Time{}, []byte{1})}}, Delete: []string{"name"}},
				{Clear: true, Expiry: now.Add(time.Hour)},
				{Create: true, Header: record.NewHeader(false, now, now.Add(time.Hour)), Expiry: now.Add(time.Hour)},
			} {
				out, _, err := record.Apply(d, true, delta, now)
				if err == nil {
					if _, err := record.Parse(out); err != nil {
						t.Fatalf("record.Apply over %x returned %x, which does not parse: %v", d, out, err)
					}
				}
			}

			if err := st.Save(context.Background(), key, d, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			s, err := m.Load(context.Background(), id)
			if err != nil {
				t.Fatalf("Load over garbage: %v, want a new session", err)
			}
			if s.exists {
				if s.ID() != id {
					t.Fatalf("loaded session has ID %q, want %q", s.ID(), id)
				}
			} else if s.ID() != "" || len(s.Keys()) != 0 {
				t.Fatalf("a record Load rejected left ID %q, keys %q", s.ID(), s.Keys())
			}
		}
	})
}
