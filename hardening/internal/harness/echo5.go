package harness

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/echosession/v5"
)

// Echo5 returns the behaviour-matrix harness for echosession/v5 (Echo
// v5): each Serve starts an Echo server with [echosession.FromManager] on
// an httptest server on 127.0.0.1, with Echo's logger silenced.
func Echo5() sessiontest.Harness {
	return sessiontest.Harness{Name: "echo5", Serve: serveEcho5}
}

func serveEcho5(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
	e := echo.New()
	e.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e.Use(echosession.FromManager(m))
	for _, rt := range routes {
		e.GET(rt.Path, func(c *echo.Context) error {
			rt.Handle(echo5Ctx{c})
			return nil
		})
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// echo5Ctx is sessiontest.Ctx over an *echo.Context.
type echo5Ctx struct{ c *echo.Context }

func (c echo5Ctx) Session() *core.Session         { return echosession.Get(c.c) }
func (c echo5Ctx) Context() context.Context       { return c.c.Request().Context() }
func (c echo5Ctx) Query(name string) string       { return c.c.QueryParam(name) }
func (c echo5Ctx) String(status int, body string) { _ = c.c.String(status, body) }
