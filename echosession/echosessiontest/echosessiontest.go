// Package echosessiontest runs sessionkit's shared behaviour matrix
// through Echo and [echosession]: store modules call
//
//	behaviortest.Run(t, echosessiontest.Harness(), newStore)
//
// to check their store end to end behind a real Echo server.
package echosessiontest

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/echosession"
	"github.com/sessionkit/sessionkit/internal/behaviortest"
)

// Harness returns the behaviour-matrix harness for echosession: each
// Serve starts an Echo server with [echosession.FromManager] on an
// httptest server on 127.0.0.1, with Echo's logger silenced.
func Harness() behaviortest.Harness {
	return behaviortest.Harness{Name: "echo", Serve: serve}
}

func serve(t *testing.T, m *core.Manager, routes []behaviortest.Route) string {
	e := echo.New()
	e.Logger.SetOutput(io.Discard)
	e.Use(echosession.FromManager(m))
	for _, rt := range routes {
		e.GET(rt.Path, func(c echo.Context) error {
			rt.Handle(ctx{c})
			return nil
		})
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL
}

// ctx is behaviortest.Ctx over an echo.Context.
type ctx struct{ c echo.Context }

func (c ctx) Session() *core.Session         { return echosession.Get(c.c) }
func (c ctx) Context() context.Context       { return c.c.Request().Context() }
func (c ctx) Query(name string) string       { return c.c.QueryParam(name) }
func (c ctx) String(status int, body string) { _ = c.c.String(status, body) }
