package sessiontest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/core"
)

// NetHTTP returns the harness for core's own net/http middleware,
// [core.Manager.Handler], over an http.ServeMux.
func NetHTTP() Harness {
	return Harness{Name: "net/http", Serve: func(t *testing.T, m *core.Manager, routes []Route) string {
		mux := http.NewServeMux()
		for _, rt := range routes {
			mux.HandleFunc("GET "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
				rt.Handle(stdCtx{w: w, r: r})
			})
		}
		srv := httptest.NewServer(m.Handler(mux))
		t.Cleanup(srv.Close)
		return srv.URL
	}}
}

type stdCtx struct {
	w http.ResponseWriter
	r *http.Request
}

func (c stdCtx) Session() *core.Session   { return core.FromContext(c.r.Context()) }
func (c stdCtx) Context() context.Context { return c.r.Context() }
func (c stdCtx) Query(name string) string { return c.r.URL.Query().Get(name) }
func (c stdCtx) String(status int, body string) {
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(status)
	_, _ = io.WriteString(c.w, body)
}
