package core_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// TestVaryHeadersIndependent checks that the Vary the middleware adds to
// one response is that response's own: a handler or a later middleware
// changing it in place does not change another response's Vary.
func TestVaryHeadersIndependent(t *testing.T) {
	t.Parallel()
	m := core.NewManager(newTestMemoryStore(t), quiet())
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("k", "v")
	}))
	serve := func() http.Header {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Header() // the map the middleware wrote, not a copy
	}
	first := serve()
	vary := slices.Clone(first.Values("Vary"))
	if !slices.Contains(vary, "Cookie") {
		t.Fatalf("Vary = %q, want Cookie", vary)
	}
	first["Vary"][0] = "Changed"
	first["Vary"] = append(first["Vary"][:1], "Appended")
	if got := serve().Values("Vary"); !slices.Equal(got, vary) {
		t.Errorf("a second response's Vary = %q after the first's was changed, want %q", got, vary)
	}

	// WriteHeaders alone, as adapters call it: the same.
	res := core.CommitResult{Vary: true}
	a, b := http.Header{}, http.Header{}
	m.WriteHeaders(a, res)
	a["Vary"][0] = "Changed"
	a["Vary"] = append(a["Vary"], "Appended")
	m.WriteHeaders(b, res)
	if got := b.Values("Vary"); !slices.Equal(got, []string{"Cookie"}) {
		t.Errorf("WriteHeaders after another header's Vary was changed: Vary = %q, want [Cookie]", got)
	}
}

// genericHeader is an http.Header seen only through the Header interface,
// so that WriteHeaders takes its path for other frameworks' headers.
type genericHeader struct{ h http.Header }

func (g genericHeader) Get(name string) string { return g.h.Get(name) }
func (g genericHeader) Set(name, value string) { g.h.Set(name, value) }
func (g genericHeader) Add(name, value string) { g.h.Add(name, value) }

// TestWriteHeadersSameOnEveryHeader checks that WriteHeaders writes an
// http.Header (by canonical names, directly) exactly as it writes any
// other Header, in cookie and header mode, over headers that already say
// Vary or Cache-Control.
func TestWriteHeadersSameOnEveryHeader(t *testing.T) {
	store := memstore.New(memstore.WithCleanupInterval(0))
	t.Cleanup(func() { store.Close() })
	cookie := core.NewManager(store)
	token := core.NewManager(store, core.WithHeaderToken("x-session"))
	ck := &http.Cookie{Name: "session", Value: "v", Path: "/", HttpOnly: true}
	for _, c := range []struct {
		name string
		m    *core.Manager
		res  core.CommitResult
		pre  http.Header
	}{
		{"nothing", cookie, core.CommitResult{}, nil},
		{"vary", cookie, core.CommitResult{Vary: true}, nil},
		{"cookie", cookie, core.CommitResult{Vary: true, Cookie: ck}, nil},
		{"cookie over vary and no-store", cookie, core.CommitResult{Vary: true, Cookie: ck},
			http.Header{"Vary": {"Accept-Encoding"}, "Cache-Control": {"no-store"}}},
		{"cookie over vary cookie", cookie, core.CommitResult{Vary: true, Cookie: ck},
			http.Header{"Vary": {"Origin, cookie"}, "Cache-Control": {"max-age=60"}}},
		{"token", token, core.CommitResult{Vary: true, SendToken: true, Token: "t"}, nil},
		{"token over private", token, core.CommitResult{Vary: true, SendToken: true, Token: "t"},
			http.Header{"Cache-Control": {"private"}, "X-Session": {"old"}}},
	} {
		direct, generic := c.pre.Clone(), c.pre.Clone()
		if direct == nil {
			direct, generic = http.Header{}, http.Header{}
		}
		c.m.WriteHeaders(direct, c.res)
		c.m.WriteHeaders(genericHeader{generic}, c.res)
		if !reflect.DeepEqual(direct, generic) {
			t.Errorf("%s: http.Header got %v, another Header %v", c.name, direct, generic)
		}
	}
}
