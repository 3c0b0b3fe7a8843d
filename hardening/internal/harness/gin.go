package harness

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/ginsession"
)

// Gin returns the behaviour-matrix harness for ginsession: each Serve
// starts a gin engine with [ginsession.FromManager] on an httptest server
// on 127.0.0.1. It switches Gin to test mode, which silences Gin's debug
// output for the whole test binary.
func Gin() sessiontest.Harness {
	gin.SetMode(gin.TestMode)
	return sessiontest.Harness{Name: "gin", Serve: serveGin}
}

func serveGin(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
	r := gin.New()
	r.Use(ginsession.FromManager(m))
	for _, rt := range routes {
		r.GET(rt.Path, func(c *gin.Context) { rt.Handle(ginCtx{c}) })
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ginCtx is sessiontest.Ctx over a gin.Context.
type ginCtx struct{ c *gin.Context }

func (c ginCtx) Session() *core.Session         { return ginsession.Get(c.c) }
func (c ginCtx) Context() context.Context       { return c.c.Request.Context() }
func (c ginCtx) Query(name string) string       { return c.c.Query(name) }
func (c ginCtx) String(status int, body string) { c.c.String(status, "%s", body) }
