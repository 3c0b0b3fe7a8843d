package core

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	st := NewMemoryStore(WithMemoryCleanupInterval(0))
	f.Cleanup(func() { st.Close() })
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
	if len(c) >= RecordHeaderSize {
		c[0] = RecordVersion
		putTime(c[2:10], now.Add(time.Hour))
		putTime(c[10:18], now.Add(-time.Minute))
	}
	return c
}

// FuzzRecord feeds arbitrary bytes to ParseRecord, ApplyDelta and
// Manager.Load (through a store seeded with them): no panic; whatever
// ParseRecord accepts rebuilds to the same bytes; ApplyDelta either fails
// or returns a record that parses; Load never fails on garbage and gives
// either the stored session or a new one without an ID.
func FuzzRecord(f *testing.F) {
	now := time.Now()
	val := func(v any) []byte {
		b, err := NewCodec().Encode(EncodeEntry(nil, time.Time{}, nil), v)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	hdr := NewRecordHeader(false, now, now.Add(time.Hour))
	f.Add(hdr)
	f.Add(AppendRecord(nil, hdr, []Entry{{Key: "n", Value: val(1)}, {Key: "name", Value: val("ada")}}))
	f.Add(AppendRecord(nil, NewRecordHeader(true, now, now.Add(-time.Hour)), []Entry{{Key: "x", Value: val(true)}}))
	f.Add(append(append([]byte(nil), hdr...), binary.AppendUvarint(nil, 1<<40)...))
	f.Add([]byte("garbage"))

	st := NewMemoryStore(WithMemoryCleanupInterval(0))
	f.Cleanup(func() { st.Close() })
	m := NewManager(st, WithLogger(slog.New(slog.DiscardHandler)))
	id := newID()
	key := storeKey(id)

	f.Fuzz(func(t *testing.T, data []byte) {
		now := time.Now()
		for _, d := range [][]byte{data, fuzzLiveCopy(data, now)} {
			r, err := ParseRecord(d)
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("ParseRecord: error %v does not match ErrCorrupt", err)
			}
			if err == nil {
				for _, e := range r.Entries {
					_, _, _ = DecodeEntry(e.Value)
				}
				// Rebuilt, it parses to the same entries (length prefixes
				// may have been written in a longer form than needed).
				again := AppendRecord(nil, d[:RecordHeaderSize], r.Entries)
				r2, err := ParseRecord(again)
				if err != nil || len(r2.Entries) != len(r.Entries) {
					t.Fatalf("ParseRecord accepted %x, whose rebuild %x parses as %d entries, %v", d, again, len(r2.Entries), err)
				}
				for i := range r.Entries {
					if r.Entries[i].Key != r2.Entries[i].Key || !bytes.Equal(r.Entries[i].Value, r2.Entries[i].Value) {
						t.Fatalf("entry %d changed in the rebuild of %x", i, d)
					}
				}
			}
			for _, delta := range []*Delta{
				{Expiry: now.Add(time.Hour), Set: []Entry{{Key: "n", Value: EncodeEntry(nil, time.Time{}, []byte{1})}}, Delete: []string{"name"}},
				{Clear: true, Expiry: now.Add(time.Hour)},
				{Create: true, Header: NewRecordHeader(false, now, now.Add(time.Hour)), Expiry: now.Add(time.Hour)},
			} {
				out, _, err := ApplyDelta(d, true, delta, now)
				if err == nil {
					if _, err := ParseRecord(out); err != nil {
						t.Fatalf("ApplyDelta over %x returned %x, which does not parse: %v", d, out, err)
					}
				}
			}

			plant(st, key, d, now.Add(time.Hour))
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

// FuzzFileStoreKey saves, loads and deletes arbitrary keys in a file
// store: every file it creates is inside its directory, the round trip
// returns the data, and Delete leaves no session file behind.
func FuzzFileStoreKey(f *testing.F) {
	for _, k := range []string{"", "k", "../../etc/passwd", "/abs/path", "a\x00b", "..", ".", "C:\\x", "é/ü", strings.Repeat("x", 300), storeKey(newID())} {
		f.Add(k)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	fs, err := NewFileStore(dir, WithFileCleanupInterval(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fs.Close() })
	ctx := context.Background()

	onlyStoreDir := func(t *testing.T) []string {
		t.Helper()
		es, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Name() != "store" {
			var names []string
			for _, e := range es {
				names = append(names, e.Name())
			}
			t.Fatalf("files appeared beside the store's directory: %q", names)
		}
		es, err = os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var sessions []string
		for _, e := range es {
			name := e.Name()
			switch {
			case e.IsDir():
				t.Fatalf("the store created a directory %q", name)
			case isSessionName(name):
				sessions = append(sessions, name)
			case strings.HasPrefix(name, fileLockPrefix):
			default:
				t.Fatalf("unexpected file %q in the store's directory", name)
			}
		}
		return sessions
	}

	f.Fuzz(func(t *testing.T, key string) {
		now := time.Now()
		exp := now.Add(time.Hour)
		data := AppendRecord(nil, NewRecordHeader(false, now, exp), []Entry{{Key: key, Value: EncodeEntry(nil, time.Time{}, []byte(key))}})
		if err := fs.Save(ctx, key, data, exp); err != nil {
			t.Fatalf("Save(%q): %v", key, err)
		}
		if got := onlyStoreDir(t); len(got) != 1 {
			t.Fatalf("Save(%q) left %d session files, want 1", key, len(got))
		}
		got, found, err := fs.Load(ctx, key)
		if err != nil || !found || !bytes.Equal(got, data) {
			t.Fatalf("Load(%q) = %x, %v, %v; want the saved record", key, got, found, err)
		}
		// A key differing in one byte does not see the record.
		if _, found, _ := fs.Load(ctx, key+"\x00"); found {
			t.Fatalf("Load(%q+NUL) found the record of %q", key, key)
		}
		if err := fs.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		if _, found, err := fs.Load(ctx, key); found || err != nil {
			t.Fatalf("Load after Delete(%q): found %v, err %v", key, found, err)
		}
		if got := onlyStoreDir(t); len(got) != 0 {
			t.Fatalf("Delete(%q) left session files %q", key, got)
		}
	})
}
