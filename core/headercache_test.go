package core_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// TestHeaderTokenNotCacheable checks that a response handing out a new
// token in header mode is kept out of shared caches, as one with a
// Set-Cookie is: otherwise a cache could serve one client's token to
// another.
func TestHeaderTokenNotCacheable(t *testing.T) {
	t.Parallel()
	store := memstore.New()
	t.Cleanup(func() { store.Close() })
	m := core.NewManager(store, quiet(), core.WithHeaderToken("X-Session"))
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("k", "v")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Header().Get("X-Session") == "" {
		t.Fatal("no token header")
	}
	cc := rec.Header().Get("Cache-Control")
	if !strings.Contains(cc, "private") && !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q with a new token header, want private or no-store", cc)
	}
}
