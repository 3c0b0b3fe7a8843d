package core_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
)

func quiet() core.Option { return core.WithLogger(slog.New(slog.DiscardHandler)) }

func newMemory(t *testing.T) *memstore.Store {
	t.Helper()
	s := memstore.New()
	t.Cleanup(func() { s.Close() })
	return s
}

func mustPanic(t *testing.T, name, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatalf("%s: no panic", name)
		}
		if msg, _ := r.(string); !strings.Contains(msg, want) {
			t.Fatalf("%s: panic %q, want it to mention %q", name, r, want)
		}
	}()
	f()
}

func TestNewManagerRefusesBadConfig(t *testing.T) {
	t.Parallel()
	st := newMemory(t)
	cases := []struct {
		name, want string
		opt        core.Option
	}{
		{"name with ;", "cookie name", core.WithCookie(core.Cookie{Name: "a;b"})},
		{"name with space", "cookie name", core.WithCookie(core.Cookie{Name: "a b"})},
		{"name with CR", "cookie name", core.WithCookie(core.Cookie{Name: "a\rb"})},
		{"name with =", "cookie name", core.WithCookie(core.Cookie{Name: "a=b"})},
		{"domain with ;", "domain", core.WithCookie(core.Cookie{Domain: "example.com;x=y"})},
		{"domain with LF", "domain", core.WithCookie(core.Cookie{Domain: "example.com\n"})},
		{"domain with space", "domain", core.WithCookie(core.Cookie{Domain: "exa mple.com"})},
		{"path with ;", "path", core.WithCookie(core.Cookie{Path: "/a;b"})},
		{"path with CR LF", "path", core.WithCookie(core.Cookie{Path: "/a\r\nSet-Cookie: x=y"})},
		{"path with space", "path", core.WithCookie(core.Cookie{Path: "/a b"})},
		{"SameSite None without Secure", "Secure", core.WithCookie(core.Cookie{SameSite: http.SameSiteNoneMode})},
		{"Partitioned without Secure", "Secure", core.WithCookie(core.Cookie{Partitioned: true})},
		{"huge path", "4096", core.WithCookie(core.Cookie{Path: "/" + strings.Repeat("a", 4100)})},
		{"invalid domain", "Domain", core.WithCookie(core.Cookie{Domain: "exa_mple..com"})},
		{"negative idle", "WithIdleTimeout", core.WithIdleTimeout(-time.Second)},
		{"zero lifetime", "WithLifetime", core.WithLifetime(0)},
		{"negative remember", "WithRememberTimeout", core.WithRememberTimeout(-1)},
		{"negative touch interval", "WithTouchInterval", core.WithTouchInterval(-1)},
		{"bad header", "header name", core.WithHeaderToken("X Token")},
		{"nil codec", "WithCodec", core.WithCodec(nil)},
		{"nil clock", "WithClock", core.WithClock(nil)},
		{"zero max size", "WithMaxSize", core.WithMaxSize(0)},
		{"nil option", "nil Option", nil},
	}
	for _, c := range cases {
		mustPanic(t, c.name, c.want, func() { core.NewManager(st, c.opt) })
	}
	mustPanic(t, "nil store", "nil store", func() { core.NewManager(nil) })
	// Valid settings do not panic.
	core.NewManager(st, core.WithCookie(core.Cookie{
		Name: "__Host-sid", Path: "/", Secure: true, SameSite: http.SameSiteNoneMode, Partitioned: true,
	}))
}

func TestIDs(t *testing.T) {
	t.Parallel()
	m := core.NewManager(newMemory(t), quiet())
	seen := make(map[string]bool)
	for range 20000 {
		s, _ := m.Load(context.Background(), "")
		s.Set("x", 1)
		res, err := m.Commit(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Token
		if len(id) != 43 {
			t.Fatalf("ID %q has %d characters", id, len(id))
		}
		if b, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(b) != 32 {
			t.Fatalf("ID %q is not 32 bytes of base64url: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("ID %q issued twice", id)
		}
		seen[id] = true
		if k := core.StoreKey(id); len(k) != 64 || strings.Contains(k, id) {
			t.Fatalf("store key %q", k)
		}
	}
}

func TestUnencodableValue(t *testing.T) {
	t.Parallel()
	st := newMemory(t)
	m := core.NewManager(st, quiet())
	ctx := context.Background()
	s, _ := m.Load(ctx, "")
	s.Set("ok", 1)
	res, err := m.Commit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	s, _ = m.Load(ctx, res.Token)
	s.Set("ok", 2)
	s.Set("bad", make(chan int))
	if _, err := m.Commit(ctx, s); err == nil || !strings.Contains(err.Error(), "chan int") {
		t.Fatalf("commit of a chan: err %v, want one naming chan int", err)
	}
	s, _ = m.Load(ctx, res.Token)
	if v, _ := s.Get("ok"); v != 1 {
		t.Fatalf("a failed commit wrote half: ok = %v", v)
	}
}

func TestMaxSize(t *testing.T) {
	t.Parallel()
	m := core.NewManager(newMemory(t), quiet(), core.WithMaxSize(1024))
	s, _ := m.Load(context.Background(), "")
	s.Set("big", strings.Repeat("x", 2000))
	if _, err := m.Commit(context.Background(), s); !errors.Is(err, core.ErrTooLarge) || !strings.Contains(err.Error(), "1024") {
		t.Fatalf("err %v, want ErrTooLarge naming 1024", err)
	}
}

func TestLateChanges(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var hookErrs []error
	m := core.NewManager(newMemory(t), quiet(), core.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		mu.Lock()
		hookErrs = append(hookErrs, err)
		mu.Unlock()
		if !errors.Is(err, core.ErrHeadersWritten) {
			http.Error(w, "store down", http.StatusServiceUnavailable)
		}
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("n", 1)
	})
	mux.HandleFunc("/late-renew", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body")
		core.FromContext(r.Context()).Renew()
	})
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/new")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	ck := res.Cookies()[0]
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/late-renew", nil)
	req.AddCookie(ck)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if len(res.Cookies()) != 0 {
		t.Fatal("a cookie after the body")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hookErrs) != 1 || !errors.Is(hookErrs[0], core.ErrHeadersWritten) {
		t.Fatalf("error hook got %v, want one ErrHeadersWritten", hookErrs)
	}
}

func TestCustomErrorHandler(t *testing.T) {
	t.Parallel()
	down := errors.New("down")
	st := &failingStore{err: down}
	m := core.NewManager(st, quiet(), core.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
		if !errors.Is(err, down) {
			t.Errorf("hook error %v does not wrap the store's", err)
		}
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("a", 1)
		io.WriteString(w, "secret body")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
}

type failingStore struct{ err error }

func (f *failingStore) Load(context.Context, string) ([]byte, bool, error)    { return nil, false, f.err }
func (f *failingStore) Save(context.Context, string, []byte, time.Time) error { return f.err }
func (f *failingStore) Delete(context.Context, string) error                  { return f.err }

func TestWriterKeepsInterfaces(t *testing.T) {
	t.Parallel()
	m := core.NewManager(newMemory(t), quiet())
	mux := http.NewServeMux()
	mux.HandleFunc("/flush", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("streamed", true)
		if _, ok := w.(http.Flusher); !ok {
			t.Error("not a Flusher")
		}
		io.WriteString(w, "chunk1\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		io.WriteString(w, "chunk2\n")
	})
	mux.HandleFunc("/hijack", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("hijacked", true)
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		rw.Flush()
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		core.FromContext(r.Context()).Set("hinted", true)
		w.WriteHeader(http.StatusOK)
	})
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)

	res, err := http.Get(srv.URL + "/flush")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "chunk1\nchunk2\n" || len(res.Cookies()) != 1 {
		t.Fatalf("flush: body %q, cookies %v", body, res.Cookies())
	}

	res, err = http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(body) != "hi" {
		t.Fatalf("hijack: body %q", body)
	}

	res, err = http.Get(srv.URL + "/early-hints")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 {
		t.Fatalf("early hints: %d, cookies %v", res.StatusCode, res.Cookies())
	}
}

func TestTwoManagers(t *testing.T) {
	t.Parallel()
	users := core.NewManager(newMemory(t), quiet(), core.WithCookie(core.Cookie{Name: "user"}))
	admins := core.NewManager(newMemory(t), quiet(), core.WithCookie(core.Cookie{Name: "admin"}))
	var inner, outer, innermost *core.Session
	h := users.Handler(admins.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		innermost = core.FromContext(r.Context())
		inner = admins.FromContext(r.Context())
		outer = users.FromContext(r.Context())
	})))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if inner == nil || outer == nil || inner == outer || innermost != inner {
		t.Fatalf("inner %p outer %p innermost %p", inner, outer, innermost)
	}
}

func TestAdmin(t *testing.T) {
	t.Parallel()
	m := core.NewManager(newMemory(t), quiet(), core.WithIdleTimeout(time.Hour))
	ctx := context.Background()
	var tokens []string
	for i := range 5 {
		s, _ := m.Load(ctx, "")
		s.Set("user_id", i)
		res, err := m.Commit(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, res.Token)
	}
	if n, err := m.Count(ctx); err != nil || n != 5 {
		t.Fatalf("count %d, %v", n, err)
	}
	ttl, found, err := m.RemainingTTL(ctx, tokens[0])
	if err != nil || !found || ttl < 59*time.Minute || ttl > time.Hour {
		t.Fatalf("ttl %v %v %v", ttl, found, err)
	}
	// Log user 3 out everywhere.
	var victim string
	err = m.Iterate(ctx, func(key string, s *core.Session) bool {
		if id, _ := core.GetAs[int](s, "user_id"); id == 3 {
			victim = key
		}
		return true
	})
	if err != nil || victim != core.StoreKey(tokens[3]) {
		t.Fatalf("iterate: victim %q, err %v", victim, err)
	}
	if err := m.DeleteKey(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Load(ctx, tokens[3]); s.ID() != "" {
		t.Fatal("deleted session still loads")
	}
	if err := m.DeleteAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := m.Count(ctx); n != 0 {
		t.Fatalf("count after clear %d", n)
	}
	// A store without the capabilities says so.
	bare := core.NewManager(&failingStore{}, quiet())
	if _, err := bare.Count(ctx); !errors.Is(err, core.ErrNotSupported) {
		t.Fatalf("count on a bare store: %v", err)
	}
}

func TestConcurrentSessionUse(t *testing.T) {
	t.Parallel()
	m := core.NewManager(newMemory(t), quiet())
	ctx := context.Background()
	s, _ := m.Load(ctx, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				s.Set(string(rune('a'+i)), j)
				s.Get("a")
				s.Keys()
				s.AddFlash(j)
			}
		})
	}
	wg.Wait()
	res, err := m.Commit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := m.Load(ctx, res.Token)
	if got := len(s2.Keys()); got != 8 {
		t.Fatalf("%d keys, want 8", got)
	}
	if got := len(s2.Flashes()); got != 800 {
		t.Fatalf("%d flashes, want 800", got)
	}
}

// TestTokenSources checks that Token and TokenFrom pick the same token:
// the first cookie value shaped like an ID, else the first; in header mode
// the first line of the token header.
func TestTokenSources(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, quiet())
	id := strings.Repeat("A", 43)
	other := strings.Repeat("b", 43)
	cases := []struct {
		name   string
		values []string // values of the cookies named like the session cookie, one a Cookie line
		want   string
	}{
		{"none", nil, ""},
		{"one", []string{id}, id},
		{"quoted", []string{`"` + id + `"`}, id},
		{"garbage first", []string{"garbage", id}, id},
		{"two IDs", []string{other, id}, other},
		{"only garbage", []string{"x1", "x2"}, "x1"},
	}
	if got := m.TokenHeader(); got != "Cookie" {
		t.Errorf("TokenHeader in cookie mode = %q", got)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range c.values {
				req.Header.Add("Cookie", "other=1; "+m.CookieName()+"="+v)
			}
			lines := req.Header.Values(m.TokenHeader())
			if got := m.Token(req); got != c.want {
				t.Errorf("Token with Cookie lines %q = %q, want %q", lines, got, c.want)
			}
			if got := m.TokenFrom(lines); got != c.want {
				t.Errorf("TokenFrom(%q) = %q, want %q", lines, got, c.want)
			}
		})
	}
	hm := core.NewManager(store, quiet(), core.WithHeaderToken("X-Session"))
	if got := hm.TokenHeader(); got != "X-Session" {
		t.Errorf("TokenHeader in header mode = %q", got)
	}
	if got := hm.TokenFrom([]string{" " + id + " ", other}); got != id {
		t.Errorf("TokenFrom in header mode = %q, want %q", got, id)
	}
	if got := hm.TokenFrom(nil); got != "" {
		t.Errorf("TokenFrom in header mode without a header = %q", got)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Add("X-Session", " "+id+" ")
	req.Header.Add("X-Session", other)
	if got := hm.Token(req); got != id {
		t.Errorf("Token in header mode = %q, want %q", got, id)
	}
}

// TestLoadNewContext checks the adapter path of the package doc: the
// session Load returns, put in a context with NewContext, is what both
// FromContext functions find; and a failing store yields an error and no
// session.
func TestLoadNewContext(t *testing.T) {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, quiet())
	parent := context.Background()
	s, err := m.Load(parent, "")
	if err != nil || s == nil {
		t.Fatalf("Load = %v, %v", s, err)
	}
	ctx := core.NewContext(parent, s)
	if core.FromContext(ctx) != s || m.FromContext(ctx) != s {
		t.Fatalf("FromContext %p, m.FromContext %p, session %p", core.FromContext(ctx), m.FromContext(ctx), s)
	}
	if other := core.NewManager(store, quiet()); other.FromContext(ctx) != nil {
		t.Fatal("another manager's FromContext found the session")
	}
	if core.FromContext(parent) != nil {
		t.Fatal("the parent context carries a session")
	}
	store.Close()
	s, err = m.Load(parent, strings.Repeat("A", 43))
	if !errors.Is(err, core.ErrClosed) || s != nil {
		t.Fatalf("on a closed store: %v, %v", s, err)
	}
}

// countingStore embeds a memory store and counts the calls to its own
// Load and SaveDelta, as a metrics or fault-injecting wrapper would.
type countingStore struct {
	*memstore.Store
	loads, saves int
}

func (c *countingStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	c.loads++
	return c.Store.Load(ctx, key)
}

func (c *countingStore) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	c.saves++
	return c.Store.SaveDelta(ctx, key, d)
}

// TestEmbeddedMemoryStoreKeepsOverrides checks that the manager calls the
// methods of a store wrapping the memory store by embedding it, not those
// of the embedded store.
func TestEmbeddedMemoryStoreKeepsOverrides(t *testing.T) {
	mem := memstore.New()
	defer mem.Close()
	store := &countingStore{Store: mem}
	m := core.NewManager(store, quiet())
	ctx := context.Background()
	s, err := m.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("n", 1)
	res, err := m.Commit(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	s, err = m.Load(ctx, res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := core.GetAs[int](s, "n"); n != 1 {
		t.Fatalf("reloaded n = %d, want 1", n)
	}
	s.Set("n", 2)
	if _, err := m.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	if store.loads != 1 || store.saves != 2 {
		t.Fatalf("wrapper saw %d loads and %d delta saves, want 1 and 2", store.loads, store.saves)
	}
}
