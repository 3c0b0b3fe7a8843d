package bench

import (
	"errors"
	"net"
	"sync/atomic"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/extractors"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

// fiber3Apps are the Fiber v3 apps: Fiber alone, its session middleware
// over its default memory storage, and fibersession/v3 over memory.
func fiber3Apps() []App {
	return []App{
		{Name: "fiber3/bare", Framework: "fiber3", Library: "bare", build: func(_ Env, in *Instance) error {
			var n atomic.Int64
			app := fiber.New()
			app.Get("/", func(c fiber.Ctx) error {
				return c.Send(counterBody(int(n.Add(1))))
			})
			in.setFiber3(app)
			return nil
		}},
		{Name: "fiber3/fiber-session-memory", Framework: "fiber3", Library: "fiber/session", Store: "memory", build: func(_ Env, in *Instance) error {
			app := fiber.New()
			app.Use(session.New(session.Config{Extractor: extractors.FromCookie(CookieName), CookieHTTPOnly: true}))
			app.Get("/", func(c fiber.Ctx) error {
				s := session.FromContext(c)
				n, _ := s.Get("n").(int)
				n++
				s.Set("n", n)
				return c.Send(counterBody(n))
			})
			in.setFiber3(app)
			return nil
		}},
		{Name: "fiber3/sessionkit-memory", Framework: "fiber3", Library: "sessionkit", Store: "memory", build: func(_ Env, in *Instance) error {
			app := fiber.New()
			app.Use(fibersession.New(memoryStore(in), core.WithCookie(core.Cookie{Name: CookieName})))
			app.Get("/", func(c fiber.Ctx) error {
				s := fibersession.Get(c)
				n, _ := core.GetAs[int](s, "n")
				n++
				s.Set("n", n)
				return c.Send(counterBody(n))
			})
			in.setFiber3(app)
			return nil
		}},
	}
}

// setFiber3 makes app, with its routes registered, the instance's server.
// Closing an instance that never listened is not an error.
func (in *Instance) setFiber3(app *fiber.App) {
	in.fast = app.Handler()
	in.listen = func(ln net.Listener) error {
		return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}
	in.shutdown = func() error {
		if err := app.Shutdown(); !errors.Is(err, fiber.ErrNotRunning) {
			return err
		}
		return nil
	}
}
