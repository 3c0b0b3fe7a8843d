package core

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

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

// plant stores data under key in st as it is, the way hostile bytes reach
// a backend without going through Save, which refuses them.
func plant(st *MemoryStore, key string, data []byte, expiry time.Time) {
	st.put(key, memEntry{key: key, data: bytes.Clone(data), expiry: expiry.UnixNano()})
}

// allocBytes returns the bytes f allocates per call, averaged over runs.
func allocBytes(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestHostileLengthPrefixes checks that records claiming huge lengths
// (a key or entry length prefix, or a codec value cut short) cost no
// allocation proportional to the claimed length, in ParseRecord,
// ApplyDelta and Manager.Load. It is not parallel: the allocation counters
// are the process's.
func TestHostileLengthPrefixes(t *testing.T) {
	now := time.Now()
	hdr := NewRecordHeader(false, now, now.Add(time.Hour))

	hugeKey := binary.AppendUvarint(append([]byte(nil), hdr...), 1<<40)
	hugeKey = append(hugeKey, "xyz"...)
	hugeEntry := binary.AppendUvarint(append([]byte(nil), hdr...), 1)
	hugeEntry = append(hugeEntry, 'k')
	hugeEntry = binary.AppendUvarint(hugeEntry, math64)
	hugeEntry = append(hugeEntry, make([]byte, 16)...)

	// A codec value that claims 64 MiB of string and holds 16 bytes.
	big, err := NewCodec().Encode(nil, strings.Repeat("a", 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	cut := AppendRecord(nil, hdr, []Entry{{Key: "k", Value: EncodeEntry(nil, time.Time{}, big[:16])}})
	big = nil

	st := NewMemoryStore(WithMemoryCleanupInterval(0))
	t.Cleanup(func() { st.Close() })
	m := NewManager(st, WithLogger(slog.New(slog.DiscardHandler)))
	id := newID()

	for name, data := range map[string][]byte{"key length": hugeKey, "entry length": hugeEntry, "codec length": cut} {
		if name != "codec length" {
			if _, err := ParseRecord(data); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: ParseRecord error %v, want ErrCorrupt", name, err)
			}
			if n := allocBytes(100, func() { _, _ = ParseRecord(data) }); n > 1024 {
				t.Errorf("%s: ParseRecord allocates %d bytes per call", name, n)
			}
			d := &Delta{Expiry: now.Add(time.Hour), Set: []Entry{{Key: "n", Value: EncodeEntry(nil, time.Time{}, []byte{1})}}}
			if n := allocBytes(100, func() { _, _, _ = ApplyDelta(data, true, d, now) }); n > 4096 {
				t.Errorf("%s: ApplyDelta allocates %d bytes per call", name, n)
			}
		}
		plant(st, storeKey(id), data, now.Add(time.Hour))
		s, err := m.Load(context.Background(), id)
		if err != nil || s.ID() != "" || len(s.Keys()) != 0 {
			t.Fatalf("%s: Load = ID %q keys %q, %v; want a new session", name, s.ID(), s.Keys(), err)
		}
		if n := allocBytes(100, func() { _, _ = m.Load(context.Background(), id) }); n > 8192 {
			t.Errorf("%s: Manager.Load allocates %d bytes per call", name, n)
		}
	}
}

// math64 is the largest uvarint, as a length prefix.
const math64 = ^uint64(0)

// TestCookieTooLongPanics checks that a configuration whose cookie would
// exceed what browsers accept fails at NewManager, not per request.
func TestCookieTooLongPanics(t *testing.T) {
	t.Parallel()
	st := NewMemoryStore(WithMemoryCleanupInterval(0))
	t.Cleanup(func() { st.Close() })
	for name, ck := range map[string]Cookie{
		"path": {Path: "/" + strings.Repeat("p", 4100)},
		"name": {Name: strings.Repeat("n", 4100)},
	} {
		func() {
			defer func() {
				msg := fmt.Sprint(recover())
				if !strings.Contains(msg, "4096") {
					t.Errorf("%s: NewManager panic %q, want one naming the 4096-byte limit", name, msg)
				}
			}()
			NewManager(st, WithCookie(ck))
		}()
	}
	// Just under the limit is fine.
	NewManager(st, WithCookie(Cookie{Path: "/" + strings.Repeat("p", 3800)}))
}

// hardApp is the net/http middleware over store with a recording error
// handler. Routes: /set?n= sets "n"; /big?size= sets "big" to that many
// bytes; /bad?kind=chan|func sets a value the codec cannot encode; /read
// answers "n" and whether "big" is present.
type hardApp struct {
	m    *Manager
	h    http.Handler
	errs chan error
}

func newHardApp(t *testing.T, store Store, opts ...Option) *hardApp {
	t.Helper()
	a := &hardApp{errs: make(chan error, 16)}
	opts = append([]Option{
		WithLogger(slog.New(slog.DiscardHandler)),
		WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			a.errs <- err
			http.Error(w, "session error", http.StatusInternalServerError)
		}),
	}, opts...)
	a.m = NewManager(store, opts...)
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		FromContext(r.Context()).Set("n", r.URL.Query().Get("n"))
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		FromContext(r.Context()).Set("big", strings.Repeat("b", size))
		_, _ = w.Write([]byte("handler body"))
	})
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		s.Set("n", "changed")
		if r.URL.Query().Get("kind") == "func" {
			s.Set("bad", func() {})
		} else {
			s.Set("bad", make(chan int))
		}
		_, _ = w.Write([]byte("handler body"))
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s := FromContext(r.Context())
		n, _ := GetAs[string](s, "n")
		_, big := s.Get("big")
		_, _ = fmt.Fprintf(w, "%s %v", n, big)
	})
	a.h = a.m.Handler(mux)
	return a
}

// do serves one request with the given cookie value ("" for none).
func (a *hardApp) do(path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: a.m.CookieName(), Value: token})
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func (a *hardApp) noError(t *testing.T) {
	t.Helper()
	select {
	case err := <-a.errs:
		t.Fatalf("unexpected session error: %v", err)
	default:
	}
}

func (a *hardApp) wantError(t *testing.T) error {
	t.Helper()
	select {
	case err := <-a.errs:
		return err
	default:
		t.Fatal("the error handler was not called")
		return nil
	}
}

func sessionCookie(w *httptest.ResponseRecorder, name string) string {
	for _, ck := range w.Result().Cookies() {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// TestTooLarge checks every size limit a session can hit through the
// net/http middleware: the manager's WithMaxSize and the memory and file
// stores' own limits. The app gets a 500 through its error handler with
// an error matching ErrTooLarge that names the limit, the handler's body
// is dropped, and nothing is half-written: the stored record is
// byte-for-byte what it was, and a new session too large leaves no record.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 2048
	cases := map[string]func(t *testing.T) (Store, []Option){
		"manager WithMaxSize": func(t *testing.T) (Store, []Option) {
			st := NewMemoryStore(WithMemoryCleanupInterval(0))
			t.Cleanup(func() { st.Close() })
			return st, []Option{WithMaxSize(limit)}
		},
		"memory store limit": func(t *testing.T) (Store, []Option) {
			st := NewMemoryStore(WithMemoryCleanupInterval(0), WithMemoryMaxRecordSize(limit))
			t.Cleanup(func() { st.Close() })
			return st, nil
		},
		"file store limit": func(t *testing.T) (Store, []Option) {
			st, err := NewFileStore(t.TempDir(), WithFileCleanupInterval(0), WithFileMaxSize(limit))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, nil
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, opts := mk(t)
			a := newHardApp(t, st, opts...)
			ctx := context.Background()

			w := a.do("/set?n=1", "")
			id := sessionCookie(w, a.m.CookieName())
			a.noError(t)
			if w.Code != http.StatusOK || id == "" {
				t.Fatalf("first request: %d, cookie %q", w.Code, id)
			}
			before, found, err := st.Load(ctx, storeKey(id))
			if err != nil || !found {
				t.Fatalf("record missing after the first request: %v", err)
			}
			before = append([]byte(nil), before...)

			w = a.do("/big?size="+strconv.Itoa(2*limit), id)
			if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler body") {
				t.Fatalf("too large: status %d body %q, want 500 without the handler's body", w.Code, w.Body)
			}
			err = a.wantError(t)
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), strconv.Itoa(limit)) {
				t.Fatalf("too large: error %v, want one matching ErrTooLarge and naming %d", err, limit)
			}
			if n := len(w.Result().Cookies()); n != 0 {
				t.Fatalf("too large: %d Set-Cookie", n)
			}
			after, found, err := st.Load(ctx, storeKey(id))
			if err != nil || !found || !bytes.Equal(after, before) {
				t.Fatalf("the record changed after a failed save (found %v, %v)", found, err)
			}
			if w := a.do("/read", id); w.Body.String() != "1 false" {
				t.Fatalf("after the failed save: %q, want the previous data", w.Body)
			}

			// A new session that is too large from the start: no record.
			count, err := Count(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			w = a.do("/big?size="+strconv.Itoa(2*limit), "")
			if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 {
				t.Fatalf("new session too large: status %d, cookies %v", w.Code, w.Result().Cookies())
			}
			if err := a.wantError(t); !errors.Is(err, ErrTooLarge) {
				t.Fatalf("new session too large: error %v", err)
			}
			if n, _ := Count(ctx, st); n != count {
				t.Fatalf("a new session too large left a record: %d records, want %d", n, count)
			}
			// Just under the limit works.
			if w := a.do("/big?size="+strconv.Itoa(limit/2), id); w.Code != http.StatusOK {
				t.Fatalf("a session under the limit: status %d", w.Code)
			}
			a.noError(t)
		})
	}
}

// TestUnencodableValue checks that a value the codec cannot encode makes
// the request fail with an error naming its type, and leaves the stored
// session as it was (the other change of the request is not saved either).
func TestUnencodableValue(t *testing.T) {
	t.Parallel()
	st := NewMemoryStore(WithMemoryCleanupInterval(0))
	t.Cleanup(func() { st.Close() })
	a := newHardApp(t, st)
	id := sessionCookie(a.do("/set?n=1", ""), a.m.CookieName())
	a.noError(t)
	for kind, typ := range map[string]string{"chan": "chan int", "func": "func()"} {
		before, _, _ := st.Load(context.Background(), storeKey(id))
		before = append([]byte(nil), before...)
		w := a.do("/bad?kind="+kind, id)
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler body") {
			t.Fatalf("%s: status %d body %q, want 500 without the handler's body", kind, w.Code, w.Body)
		}
		if err := a.wantError(t); !strings.Contains(err.Error(), typ) || !strings.Contains(err.Error(), `"bad"`) {
			t.Fatalf("%s: error %v, want one naming the key and the type %s", kind, err, typ)
		}
		after, _, _ := st.Load(context.Background(), storeKey(id))
		if !bytes.Equal(before, after) {
			t.Fatalf("%s: the record changed", kind)
		}
		if w := a.do("/read", id); w.Body.String() != "1 false" {
			t.Fatalf("%s: after the failed save %q, want the previous data", kind, w.Body)
		}
	}
	// A new session with such a value is not created.
	w := a.do("/bad", "")
	if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 {
		t.Fatalf("new session with a chan: status %d, cookies %v", w.Code, w.Result().Cookies())
	}
	a.wantError(t)
	if n, _ := Count(context.Background(), st); n != 1 {
		t.Fatalf("%d records, want only the first session's", n)
	}
}

// TestMaxSizeCountsWholeRecord checks that WithMaxSize bounds the record a
// commit leaves, not only the values the request changed: a session cannot
// grow past the limit one request at a time, the bound is exact, and a
// commit that only deletes is never refused.
func TestMaxSizeCountsWholeRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := NewMemoryStore(WithMemoryCleanupInterval(0))
	t.Cleanup(func() { st.Close() })
	managers := map[int]*Manager{}
	mgr := func(limit int) *Manager {
		if managers[limit] == nil {
			managers[limit] = NewManager(st, WithLogger(slog.New(slog.DiscardHandler)), WithMaxSize(limit))
		}
		return managers[limit]
	}
	commitWith := func(limit int, token string, set map[string]any, del ...string) (string, error) {
		s, err := mgr(limit).Load(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range set {
			s.Set(k, v)
		}
		for _, k := range del {
			s.Delete(k)
		}
		res, err := mgr(limit).Commit(ctx, s)
		return res.Token, err
	}
	recordLen := func(token string) int {
		data, found, err := st.Load(ctx, storeKey(token))
		if err != nil || !found {
			t.Fatalf("no record: %v", err)
		}
		return len(data)
	}

	tok, err := commitWith(1000, "", map[string]any{"a": strings.Repeat("a", 600)})
	if err != nil {
		t.Fatal(err)
	}
	before := recordLen(tok)
	if _, err := commitWith(1000, tok, map[string]any{"b": strings.Repeat("b", 600)}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("growing the session past the limit in a second request: %v, want ErrTooLarge", err)
	}
	if recordLen(tok) != before {
		t.Fatal("the refused commit changed the record")
	}
	// Replacing a value is counted once.
	if _, err := commitWith(1000, tok, map[string]any{"a": strings.Repeat("c", 600)}); err != nil {
		t.Fatalf("replacing a value within the limit: %v", err)
	}

	// The bound is exact: a record of L bytes passes a limit of L, not L-1.
	set := map[string]any{"x": strings.Repeat("x", 300), "y": 42, "z": []string{"p", "q"}}
	big, err := commitWith(1<<20, "", set)
	if err != nil {
		t.Fatal(err)
	}
	l := recordLen(big)
	if _, err := commitWith(l, "", set); err != nil {
		t.Fatalf("a %d-byte record under WithMaxSize(%d): %v", l, l, err)
	}
	if _, err := commitWith(l-1, "", set); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("a %d-byte record under WithMaxSize(%d): %v, want ErrTooLarge", l, l-1, err)
	}
	// Adding to an existing session: exact too.
	if _, err := commitWith(l-1, big, map[string]any{"w": true}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("adding to a %d-byte session under WithMaxSize(%d): %v, want ErrTooLarge", l, l-1, err)
	}
	// A session already over a (lowered) limit may still shrink.
	if _, err := commitWith(100, big, nil, "x"); err != nil {
		t.Fatalf("deleting from a session over the limit: %v", err)
	}
	if n := recordLen(big); n >= l {
		t.Fatalf("the record did not shrink: %d bytes", n)
	}
}
