package echosession_test

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

// harness returns the behaviour-matrix harness for echosession (Echo
// v5): each Serve starts an Echo server with [echosession.FromManager] on
// an httptest server on 127.0.0.1, with Echo's logger silenced.
func harness() sessiontest.Harness {
	return sessiontest.Harness{Name: "echo5", Serve: serve}
}

func serve(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
	e := echo.New()
	e.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e.Use(echosession.FromManager(m))
	for _, rt := range routes {
		e.GET(rt.Path, func(c *echo.Context) error {
			rt.Handle(ctx{c})
			return nil
		})
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ctx is sessiontest.Ctx over an *echo.Context.
type ctx struct{ c *echo.Context }

func (c ctx) Session() *core.Session         { return echosession.Get(c.c) }
func (c ctx) Context() context.Context       { return c.c.Request().Context() }
func (c ctx) Query(name string) string       { return c.c.QueryParam(name) }
func (c ctx) String(status int, body string) { _ = c.c.String(status, body) }
