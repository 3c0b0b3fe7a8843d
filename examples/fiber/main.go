// Command fiber is the sessionkit demo app on Fiber: a login form with
// remember-me and CSRF protection, a page that counts visits, flash
// messages, a one-time code that expires through a per-key TTL, logout, and
// "Your devices": the sessions of the user, "log out other devices" and a
// per-device revoke.
//
//	go run ./examples/fiber                                # SQLite in ./data/sessions.db
//	go run ./examples/fiber -store redis://127.0.0.1:6379  # or SESSION_STORE=...
//	CSRF_KEY=... go run ./examples/fiber -secure           # behind HTTPS, several instances
//
// The app itself is in package [demo], the same on every framework; this
// file has only what Fiber does differently, so diff it with ../gin and
// ../echo to see what changes between frameworks.
package main

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/fibersession"
)

const framework = "Fiber"

func main() { demo.Main(framework, serveApp) }

// serveApp is the app on this framework; the tests run it too.
func serveApp(ctx context.Context, ln net.Listener, a *demo.App) error {
	return serve(ctx, ln, routes(a))
}

func routes(a *demo.App) *fiber.App {
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// ReadTimeout also bounds how long a graceful shutdown waits for a
		// connection that a browser opened ahead of time and never used.
		ReadTimeout: 5 * time.Second,
		IdleTimeout: time.Minute,
		// A larger body is answered 413 before any handler runs.
		BodyLimit:    demo.MaxBody,
		ErrorHandler: logErrors(a, fiber.DefaultErrorHandler),
	})
	f.Use(recover.New(), fibersession.FromManager(a.Manager))
	for _, rt := range a.Routes() {
		f.Add(rt.Method, rt.Path, func(c *fiber.Ctx) error { return respond(c, rt.Handle(request(c))) })
	}
	return f
}

// logErrors logs the errors that are not Fiber's own answers (404, 413 and
// the like) before next answers them: fibersession returns a failing
// store's error this way.
func logErrors(a *demo.App, next fiber.ErrorHandler) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var se *fibersession.Error
		if errors.As(err, &se) {
			a.LogError(se.Err) // se.Error() is only "Internal Server Error"
		} else if fe := (*fiber.Error)(nil); !errors.As(err, &fe) {
			a.LogError(err)
		}
		return next(c, err)
	}
}

// request copies what it reads: Fiber's strings point into buffers that
// are reused after the request.
func request(c *fiber.Ctx) demo.Request {
	return demo.Request{
		Context: c.UserContext(),
		Session: fibersession.Get(c),
		Form:    func(k string) string { return string(c.Request().PostArgs().Peek(k)) }, // the body only
		Cookie:  func(name string) string { return strings.Clone(c.Cookies(name)) },
	}
}

func respond(c *fiber.Ctx, res demo.Result) error {
	for k, v := range res.Header {
		c.Set(k, v[0])
	}
	for _, ck := range res.Cookies {
		c.Response().Header.Add(fiber.HeaderSetCookie, ck.String())
	}
	if res.Redirect != "" {
		return c.Redirect(res.Redirect, http.StatusSeeOther)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(res.Status).Send(res.Body)
}

// serve runs the app on ln until ctx is done, then shuts it down gracefully.
func serve(ctx context.Context, ln net.Listener, f *fiber.App) error {
	errc := make(chan error, 1)
	go func() { errc <- f.Listener(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Print("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return f.ShutdownWithContext(sctx)
}
