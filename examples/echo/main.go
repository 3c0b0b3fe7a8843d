// Command echo is the sessionkit demo app on Echo: a login form with
// remember-me and CSRF protection, a page that counts visits, flash
// messages, a one-time code that expires through a per-key TTL, logout, and
// "Your devices": the sessions of the user, "log out other devices" and a
// per-device revoke.
//
//	go run ./examples/echo                                 # SQLite in ./data/sessions.db
//	go run ./examples/echo -store redis://127.0.0.1:6379   # or SESSION_STORE=...
//	CSRF_KEY=... go run ./examples/echo -secure            # behind HTTPS, several instances
//
// The app itself is in package [demo], the same on every framework; this
// file has only what Echo does differently, so diff it with ../gin and
// ../fiber to see what changes between frameworks.
package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/sessionkit/sessionkit/echosession"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

const framework = "Echo"

func main() { demo.Main(framework, serveApp) }

// serveApp is the app on this framework; the tests run it too.
func serveApp(ctx context.Context, ln net.Listener, a *demo.App) error {
	return demo.ServeHTTP(ctx, ln, routes(a))
}

func routes(a *demo.App) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = logErrors(a, e.DefaultHTTPErrorHandler)
	e.Use(middleware.Recover(), echosession.FromManager(a.Manager))
	for _, rt := range a.Routes() {
		e.Add(rt.Method, rt.Path, func(c echo.Context) error { return respond(c, rt.Handle(request(c))) })
	}
	return demo.LimitBody(e)
}

// logErrors logs the errors that are not Echo's own answers (404 and the
// like) before next answers them: echosession returns a failing store's
// error this way.
func logErrors(a *demo.App, next echo.HTTPErrorHandler) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if he := (*echo.HTTPError)(nil); !errors.As(err, &he) {
			a.LogError(err)
		}
		next(err, c)
	}
}

func request(c echo.Context) demo.Request {
	return demo.Request{
		Context: c.Request().Context(),
		Session: echosession.Get(c),
		Form:    c.Request().PostFormValue, // the body only; FormValue would read the URL
		Cookie: func(name string) string {
			ck, err := c.Cookie(name)
			if err != nil {
				return ""
			}
			return ck.Value
		},
	}
}

func respond(c echo.Context, res demo.Result) error {
	for k, v := range res.Header {
		c.Response().Header().Set(k, v[0])
	}
	for _, ck := range res.Cookies {
		c.SetCookie(ck)
	}
	if res.Redirect != "" {
		return c.Redirect(http.StatusSeeOther, res.Redirect)
	}
	return c.HTMLBlob(res.Status, res.Body)
}
