package sessiontest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
)

// A harness for core's own middleware over http.ServeMux, as an adapter
// for another framework would write one over its router. A test then calls
// sessiontest.Run(t, harness, newStore).
func ExampleHarness() {
	harness := sessiontest.Harness{
		Name: "my-mux",
		Serve: func(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
			mux := http.NewServeMux()
			for _, rt := range routes {
				mux.HandleFunc("GET "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
					rt.Handle(muxCtx{w, r})
				})
			}
			srv := httptest.NewServer(m.Handler(mux))
			t.Cleanup(srv.Close)
			return srv.URL
		},
	}
	_ = harness // in a test: sessiontest.Run(t, harness, newStore)
}

type muxCtx struct {
	w http.ResponseWriter
	r *http.Request
}

func (c muxCtx) Session() *core.Session   { return core.FromContext(c.r.Context()) }
func (c muxCtx) Context() context.Context { return c.r.Context() }
func (c muxCtx) Query(name string) string { return c.r.URL.Query().Get(name) }
func (c muxCtx) String(status int, body string) {
	c.w.WriteHeader(status)
	_, _ = io.WriteString(c.w, body)
}
