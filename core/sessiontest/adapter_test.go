package sessiontest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// bufferedAdapter is a session middleware as a third party would write it
// for a framework of their own, from core's public adapter API alone: it
// loads the session from the request's token, runs the handler into a
// buffer, commits, and only then writes the headers and the body.
func bufferedAdapter(m *core.Manager, next func(w http.ResponseWriter, r *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Load(r.Context(), m.Token(r))
		if err != nil {
			http.Error(w, "session store unavailable", http.StatusInternalServerError)
			return
		}
		ctx := core.NewContext(r.Context(), s)
		rec := httptest.NewRecorder()
		next(rec, r.WithContext(ctx))
		res, err := m.Commit(ctx, s)
		if err != nil {
			http.Error(w, "session store unavailable", http.StatusInternalServerError)
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		m.WriteHeaders(w.Header(), res)
		w.WriteHeader(rec.Code)
		_, _ = io.Copy(w, bytes.NewReader(rec.Body.Bytes()))
	})
}

// thirdPartyHarness serves the kit's routes through bufferedAdapter.
func thirdPartyHarness() sessiontest.Harness {
	return sessiontest.Harness{Name: "third-party", Buffered: true, Serve: func(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
		mux := http.NewServeMux()
		for _, rt := range routes {
			mux.Handle("GET "+rt.Path, bufferedAdapter(m, func(w http.ResponseWriter, r *http.Request) {
				rt.Handle(reqCtx{w: w, r: r})
			}))
		}
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		return srv.URL
	}}
}

type reqCtx struct {
	w http.ResponseWriter
	r *http.Request
}

func (c reqCtx) Session() *core.Session   { return core.FromContext(c.r.Context()) }
func (c reqCtx) Context() context.Context { return c.r.Context() }
func (c reqCtx) Query(name string) string { return c.r.URL.Query().Get(name) }
func (c reqCtx) String(status int, body string) {
	c.w.WriteHeader(status)
	_, _ = io.WriteString(c.w, body)
}

// TestThirdPartyAdapter runs the whole kit against an adapter written
// outside sessionkit's adapter modules, from public API only: the kit is
// usable by anyone who writes a middleware for another framework.
func TestThirdPartyAdapter(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, thirdPartyHarness(), func(t *testing.T) core.Store {
		s := memstore.New()
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}
