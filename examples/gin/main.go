// Command gin is the sessionkit demo app on Gin: a login form with
// remember-me and CSRF protection, a page that counts visits, flash
// messages, a one-time code that expires through a per-key TTL, logout, and
// "Your devices": the sessions of the user, "log out other devices" and a
// per-device revoke.
//
//	go run ./examples/gin                                  # SQLite in ./data/sessions.db
//	go run ./examples/gin -store redis://127.0.0.1:6379    # or SESSION_STORE=...
//	CSRF_KEY=... go run ./examples/gin -secure             # behind HTTPS, several instances
//
// The app itself is in package [demo], the same on every framework; this
// file has only what Gin does differently, so diff it with ../echo and
// ../fiber to see what changes between frameworks.
package main

import (
	"context"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/ginsession"
)

const framework = "Gin"

func main() { demo.Main(framework, serveApp) }

// serveApp is the app on this framework; the tests run it too.
func serveApp(ctx context.Context, ln net.Listener, a *demo.App) error {
	return demo.ServeHTTP(ctx, ln, routes(a))
}

func routes(a *demo.App) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), logErrors(a), ginsession.FromManager(a.Manager))
	for _, rt := range a.Routes() {
		r.Handle(rt.Method, rt.Path, func(c *gin.Context) { respond(c, rt.Handle(request(c))) })
	}
	return demo.LimitBody(r)
}

// logErrors logs the errors ginsession adds to the request (a failing
// store); it runs before ginsession so that it sees the commit's too.
func logErrors(a *demo.App) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		for _, e := range c.Errors {
			a.LogError(e.Err)
		}
	}
}

func request(c *gin.Context) demo.Request {
	return demo.Request{
		Context: c.Request.Context(),
		Session: ginsession.Get(c),
		Form:    c.PostForm, // the body only; c.Query would read the URL
		Cookie: func(name string) string {
			v, _ := c.Cookie(name)
			return v
		},
	}
}

func respond(c *gin.Context, res demo.Result) {
	for k, v := range res.Header {
		c.Header(k, v[0])
	}
	for _, ck := range res.Cookies {
		http.SetCookie(c.Writer, ck)
	}
	if res.Redirect != "" {
		c.Redirect(http.StatusSeeOther, res.Redirect)
		return
	}
	c.Data(res.Status, "text/html; charset=utf-8", res.Body)
}
