package sessiontest

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

func runLimits(t *testing.T, h Harness, newStore func(t *testing.T) core.Store) {
	t.Run("Limits", func(t *testing.T) {
		t.Parallel()

		// A session over the manager's size limit fails the request with a
		// 500 (the handler's body dropped, no cookie), and nothing is
		// half-written: the stored record stays byte for byte, and a new
		// session that is too large is not created.
		t.Run("TooLarge", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore, core.WithMaxSize(4096))
			c := newClient(t, e.url)
			c.mustGet("/incr", "1")
			id := c.cookie(cookieName)
			before := e.raw(id)
			r := c.get("/big?size=8192")
			e.wantFailed("too large", r)
			if !bytes.Equal(e.raw(id), before) {
				t.Fatal("too large: the stored record changed")
			}
			c.mustGet("/read", "1")
			c.mustGet("/get?key=big", "<absent>")
			w := e.store.Writes()
			e.wantFailed("too large, new session", newClient(t, e.url).get("/big?size=8192"))
			if e.store.Writes() != w {
				t.Fatal("too large, new session: the store was written")
			}
			c.mustGet("/big?size=1024", "handler body")
			c.mustGet("/read", "1")
		})

		// A value the codec cannot encode fails the request the same way,
		// and the request's other change is not saved either.
		t.Run("Unencodable", func(t *testing.T) {
			t.Parallel()
			e := setupHard(t, h, newStore)
			c := newClient(t, e.url)
			c.mustGet("/incr", "1")
			id := c.cookie(cookieName)
			before := e.raw(id)
			e.wantFailed("unencodable", c.get("/badval"))
			if !bytes.Equal(e.raw(id), before) {
				t.Fatal("unencodable: the stored record changed")
			}
			c.mustGet("/read", "1")
			w := e.store.Writes()
			e.wantFailed("unencodable, new session", newClient(t, e.url).get("/badval"))
			if e.store.Writes() != w {
				t.Fatal("unencodable, new session: the store was written")
			}
		})
	})
}

// wantFailed checks that r is the framework's 500, without the handler's
// body or a session cookie.
func (e *env) wantFailed(what string, r response) {
	e.t.Helper()
	if r.status != http.StatusInternalServerError || strings.Contains(r.body, "handler body") {
		e.t.Fatalf("%s: status %d body %q, want 500 without the handler's body", what, r.status, r.body)
	}
	if sc := setCookies(e.t, r, cookieName); len(sc) != 0 {
		e.t.Fatalf("%s: a session cookie was sent: %v", what, sc)
	}
}
