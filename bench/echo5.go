package bench

import (
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/echosession/v5"
)

// echo5Apps are the Echo v5 apps: Echo alone and echosession/v5 over
// memory. echo-contrib has no Echo v5 module the proxy serves, so there is
// no peer row.
func echo5Apps() []App {
	return []App{
		{Name: "echo5/bare", Framework: "echo5", Library: "bare", build: func(_ Env, in *Instance) error {
			var n atomic.Int64
			e := newEcho5()
			e.GET("/", func(c *echo.Context) error {
				return c.Blob(http.StatusOK, "text/plain; charset=utf-8", counterBody(int(n.Add(1))))
			})
			in.handler = e
			return nil
		}},
		{Name: "echo5/sessionkit-memory", Framework: "echo5", Library: "sessionkit", Store: "memory", build: func(_ Env, in *Instance) error {
			e := newEcho5()
			e.Use(echosession.New(memoryStore(in), core.WithCookie(core.Cookie{Name: CookieName})))
			e.GET("/", func(c *echo.Context) error {
				s := echosession.Get(c)
				n, _ := core.GetAs[int](s, "n")
				n++
				s.Set("n", n)
				return c.Blob(http.StatusOK, "text/plain; charset=utf-8", counterBody(n))
			})
			in.handler = e
			return nil
		}},
	}
}

// newEcho5 returns an Echo v5 server that logs nothing (v5 has no banner).
func newEcho5() *echo.Echo {
	e := echo.New()
	e.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return e
}
