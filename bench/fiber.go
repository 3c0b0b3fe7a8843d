package bench

import (
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/fibersession"
)

// fiberApps are the Fiber v2 apps: Fiber alone, its session middleware
// over its default memory storage, and fibersession over memory.
func fiberApps() []App {
	return []App{
		{Name: "fiber/bare", Framework: "fiber", Library: "bare", build: func(_ Env, in *Instance) error {
			var n atomic.Int64
			app := newFiber()
			app.Get("/", func(c *fiber.Ctx) error {
				return c.Send(counterBody(int(n.Add(1))))
			})
			in.setFiber(app)
			return nil
		}},
		{Name: "fiber/fiber-session-memory", Framework: "fiber", Library: "fiber/session", Store: "memory", build: func(_ Env, in *Instance) error {
			store := session.New(session.Config{KeyLookup: "cookie:" + CookieName, CookieHTTPOnly: true})
			app := newFiber()
			app.Get("/", func(c *fiber.Ctx) error {
				s, err := store.Get(c)
				if err != nil {
					return err
				}
				n, _ := s.Get("n").(int)
				n++
				s.Set("n", n)
				if err := s.Save(); err != nil {
					return err
				}
				return c.Send(counterBody(n))
			})
			in.setFiber(app)
			return nil
		}},
		{Name: "fiber/sessionkit-memory", Framework: "fiber", Library: "sessionkit", Store: "memory", build: func(_ Env, in *Instance) error {
			app := newFiber()
			app.Use(fibersession.New(memoryStore(in), core.WithCookie(core.Cookie{Name: CookieName})))
			app.Get("/", func(c *fiber.Ctx) error {
				s := fibersession.Get(c)
				n, _ := core.GetAs[int](s, "n")
				n++
				s.Set("n", n)
				return c.Send(counterBody(n))
			})
			in.setFiber(app)
			return nil
		}},
	}
}

// setFiber makes app, with its routes registered, the instance's server.
func (in *Instance) setFiber(app *fiber.App) {
	in.fast, in.listen, in.shutdown = app.Handler(), app.Listener, app.Shutdown
}

func newFiber() *fiber.App {
	return fiber.New(fiber.Config{DisableStartupMessage: true})
}
