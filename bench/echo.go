package bench

import (
	"net/http"
	"sync/atomic"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo-contrib/session"
	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/echosession"
)

// echoApps are the Echo v4 apps: Echo alone, echo-contrib/session over
// gorilla's cookie store, and echosession over memory.
func echoApps() []App {
	return []App{
		{Name: "echo/bare", Framework: "echo", Library: "bare", build: func(_ Env, in *Instance) error {
			var n atomic.Int64
			e := newEcho()
			e.GET("/", func(c echo.Context) error {
				return c.Blob(http.StatusOK, "text/plain; charset=utf-8", counterBody(int(n.Add(1))))
			})
			in.handler = e
			return nil
		}},
		{Name: "echo/echo-contrib-cookie", Framework: "echo", Library: "echo-contrib/session", Store: "cookie", build: func(_ Env, in *Instance) error {
			e := newEcho()
			e.Use(session.Middleware(sessions.NewCookieStore(secret)))
			e.GET("/", func(c echo.Context) error {
				s, err := session.Get(CookieName, c)
				if err != nil {
					return err
				}
				n, _ := s.Values["n"].(int)
				n++
				s.Values["n"] = n
				if err := s.Save(c.Request(), c.Response()); err != nil {
					return err
				}
				return c.Blob(http.StatusOK, "text/plain; charset=utf-8", counterBody(n))
			})
			in.handler = e
			return nil
		}},
		{Name: "echo/sessionkit-memory", Framework: "echo", Library: "sessionkit", Store: "memory", build: func(_ Env, in *Instance) error {
			e := newEcho()
			e.Use(echosession.New(memoryStore(in), core.WithCookie(core.Cookie{Name: CookieName})))
			e.GET("/", func(c echo.Context) error {
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

func newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	return e
}
