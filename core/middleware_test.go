package core_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/sessionkit/sessionkit/core"
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
