package core_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// TestHandlerMountedTwice: the same manager's middleware on a mux and on
// a handler below it loads and commits once, as every adapter's does.
func TestHandlerMountedTwice(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	store := sessiontest.NewFaultStore(mem)
	m := core.NewManager(store)
	mux := http.NewServeMux()
	mux.Handle("/g/incr", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		fmt.Fprint(w, n+1)
	})))
	srv := httptest.NewServer(m.Handler(mux))
	t.Cleanup(srv.Close)
	do := func(cookie string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/g/incr", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	res, body := do("")
	if body != "1" || len(res.Header.Values("Set-Cookie")) != 1 || store.Writes() != 1 {
		t.Fatalf("first request: body %q, Set-Cookie %q, %d store writes; want \"1\", one cookie, 1 write",
			body, res.Header.Values("Set-Cookie"), store.Writes())
	}
	ck := res.Cookies()[0]
	loads, writes := store.Loads(), store.Writes()
	res, body = do(ck.Name + "=" + ck.Value)
	if body != "2" || len(res.Header.Values("Vary")) != 1 {
		t.Fatalf("second request: body %q, Vary %q; want \"2\" and one Vary", body, res.Header.Values("Vary"))
	}
	if l, w := store.Loads()-loads, store.Writes()-writes; l != 1 || w != 1 {
		t.Fatalf("%d store loads and %d writes for one request, want 1 and 1", l, w)
	}
}
