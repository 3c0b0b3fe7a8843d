package ginsession_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/ginsession"
)

// TestMountedTwice: the same manager's middleware on the engine and on a
// group loads and commits once.
func TestMountedTwice(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	store := sessiontest.NewFaultStore(mem)
	m := core.NewManager(store)
	r := gin.New()
	r.Use(ginsession.FromManager(m))
	g := r.Group("/g", ginsession.FromManager(m))
	g.GET("/incr", func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		c.String(http.StatusOK, "%d", n+1)
	})
	srv := httptest.NewServer(r)
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
	if body != strconv.Itoa(2) || len(res.Header.Values("Vary")) != 1 {
		t.Fatalf("second request: body %q, Vary %q; want \"2\" and one Vary", body, res.Header.Values("Vary"))
	}
	if l, w := store.Loads()-loads, store.Writes()-writes; l != 1 || w != 1 {
		t.Fatalf("%d store loads and %d writes for one request, want 1 and 1", l, w)
	}
}
