package core_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// TestCookieTooLongPanics checks that a configuration whose cookie would
// exceed what browsers accept fails at NewManager, not per request.
func TestCookieTooLongPanics(t *testing.T) {
	t.Parallel()
	st := newTestMemoryStore(t)
	for name, ck := range map[string]core.Cookie{
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
			core.NewManager(st, core.WithCookie(ck))
		}()
	}
	// Just under the limit is fine.
	core.NewManager(st, core.WithCookie(core.Cookie{Path: "/" + strings.Repeat("p", 3800)}))
}

// hardApp is the net/http middleware over store with a recording error
// handler. Routes: /set?n= sets "n"; /big?size= sets "big" to that many
// bytes; /bad?kind=chan|func sets a value the codec cannot encode; /read
// answers "n" and whether "big" is present.
type hardApp struct {
	m    *core.Manager
	h    http.Handler
	errs chan error
}

func newHardApp(t *testing.T, store core.Store, opts ...core.Option) *hardApp {
	t.Helper()
	a := &hardApp{errs: make(chan error, 16)}
	opts = append([]core.Option{
		quiet(),
		core.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			a.errs <- err
			http.Error(w, "session error", http.StatusInternalServerError)
		}),
	}, opts...)
	a.m = core.NewManager(store, opts...)
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("n", r.URL.Query().Get("n"))
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		size, _ := strconv.Atoi(r.URL.Query().Get("size"))
		core.FromContext(r.Context()).Set("big", strings.Repeat("b", size))
		_, _ = w.Write([]byte("handler body"))
	})
	mux.HandleFunc("/bad", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		s.Set("n", "changed")
		if r.URL.Query().Get("kind") == "func" {
			s.Set("bad", func() {})
		} else {
			s.Set("bad", make(chan int))
		}
		_, _ = w.Write([]byte("handler body"))
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[string](s, "n")
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
// an error matching core.ErrTooLarge that names the limit, the handler's body
// is dropped, and nothing is half-written: the stored record is
// byte-for-byte what it was, and a new session too large leaves no record.
func TestTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 2048
	cases := map[string]func(t *testing.T) (core.Store, []core.Option){
		"manager WithMaxSize": func(t *testing.T) (core.Store, []core.Option) {
			return newTestMemoryStore(t), []core.Option{core.WithMaxSize(limit)}
		},
		"memory store limit": func(t *testing.T) (core.Store, []core.Option) {
			return newTestMemoryStore(t, memstore.WithMaxRecordSize(limit)), nil
		},
		"file store limit": func(t *testing.T) (core.Store, []core.Option) {
			return newTestFileStore(t, t.TempDir(), filestore.WithMaxRecordSize(limit)), nil
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
			before, found, err := st.Load(ctx, core.StoreKey(id))
			if err != nil || !found {
				t.Fatalf("record missing after the first request: %v", err)
			}
			before = append([]byte(nil), before...)

			w = a.do("/big?size="+strconv.Itoa(2*limit), id)
			if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler body") {
				t.Fatalf("too large: status %d body %q, want 500 without the handler's body", w.Code, w.Body)
			}
			err = a.wantError(t)
			if !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), strconv.Itoa(limit)) {
				t.Fatalf("too large: error %v, want one matching core.ErrTooLarge and naming %d", err, limit)
			}
			if n := len(w.Result().Cookies()); n != 0 {
				t.Fatalf("too large: %d Set-Cookie", n)
			}
			after, found, err := st.Load(ctx, core.StoreKey(id))
			if err != nil || !found || !bytes.Equal(after, before) {
				t.Fatalf("the record changed after a failed save (found %v, %v)", found, err)
			}
			if w := a.do("/read", id); w.Body.String() != "1 false" {
				t.Fatalf("after the failed save: %q, want the previous data", w.Body)
			}

			// A new session that is too large from the start: no record.
			count, err := a.m.Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			w = a.do("/big?size="+strconv.Itoa(2*limit), "")
			if w.Code != http.StatusInternalServerError || len(w.Result().Cookies()) != 0 {
				t.Fatalf("new session too large: status %d, cookies %v", w.Code, w.Result().Cookies())
			}
			if err := a.wantError(t); !errors.Is(err, core.ErrTooLarge) {
				t.Fatalf("new session too large: error %v", err)
			}
			if n, _ := a.m.Count(ctx); n != count {
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

// TestUnencodableValueHandler checks, through the net/http middleware,
// that a value the codec cannot encode makes the request fail with an
// error naming its type, and leaves the stored session as it was (the
// other change of the request is not saved either).
func TestUnencodableValueHandler(t *testing.T) {
	t.Parallel()
	st := newTestMemoryStore(t)
	a := newHardApp(t, st)
	id := sessionCookie(a.do("/set?n=1", ""), a.m.CookieName())
	a.noError(t)
	for kind, typ := range map[string]string{"chan": "chan int", "func": "func()"} {
		before, _, _ := st.Load(context.Background(), core.StoreKey(id))
		before = append([]byte(nil), before...)
		w := a.do("/bad?kind="+kind, id)
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "handler body") {
			t.Fatalf("%s: status %d body %q, want 500 without the handler's body", kind, w.Code, w.Body)
		}
		if err := a.wantError(t); !strings.Contains(err.Error(), typ) || !strings.Contains(err.Error(), `"bad"`) {
			t.Fatalf("%s: error %v, want one naming the key and the type %s", kind, err, typ)
		}
		after, _, _ := st.Load(context.Background(), core.StoreKey(id))
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
	if n, _ := a.m.Count(context.Background()); n != 1 {
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
	st := newTestMemoryStore(t)
	managers := map[int]*core.Manager{}
	mgr := func(limit int) *core.Manager {
		if managers[limit] == nil {
			managers[limit] = core.NewManager(st, quiet(), core.WithMaxSize(limit))
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
		data, found, err := st.Load(ctx, core.StoreKey(token))
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
	if _, err := commitWith(1000, tok, map[string]any{"b": strings.Repeat("b", 600)}); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("growing the session past the limit in a second request: %v, want core.ErrTooLarge", err)
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
	if _, err := commitWith(l-1, "", set); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("a %d-byte record under WithMaxSize(%d): %v, want core.ErrTooLarge", l, l-1, err)
	}
	// Adding to an existing session: exact too.
	if _, err := commitWith(l-1, big, map[string]any{"w": true}); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("adding to a %d-byte session under WithMaxSize(%d): %v, want core.ErrTooLarge", l, l-1, err)
	}
	// A session already over a (lowered) limit may still shrink.
	if _, err := commitWith(100, big, nil, "x"); err != nil {
		t.Fatalf("deleting from a session over the limit: %v", err)
	}
	if n := recordLen(big); n >= l {
		t.Fatalf("the record did not shrink: %d bytes", n)
	}
}
