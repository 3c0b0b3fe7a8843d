package harness

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

// Fiber3 returns the behaviour-matrix harness for fibersession/v3 (Fiber
// v3): each call of its Serve starts a Fiber app with the routes behind
// [fibersession.FromManager] on a real listener on 127.0.0.1 (the one of
// [Fiber], which closes its connections on shutdown) and shuts it down
// with t.Cleanup. Fiber buffers the whole response, so the harness is
// Buffered.
func Fiber3() sessiontest.Harness {
	return sessiontest.Harness{Name: "fiber3", Buffered: true, Serve: serveFiber3}
}

func serveFiber3(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
	t.Helper()
	// Fiber's default 4 KiB read buffer caps the whole request header and
	// answers 431 before any middleware runs; the matrix sends a 4.5 KB
	// cookie to check that the middleware, not the server, handles it.
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	app.Use(fibersession.FromManager(m))
	for _, rt := range routes {
		app.Get(rt.Path, func(c fiber.Ctx) error {
			rt.Handle(fiber3Ctx{c})
			return nil
		})
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &listener{Listener: inner}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("fiber shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("fiber listener: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// fiber3Ctx is sessiontest.Ctx over a fiber.Ctx.
type fiber3Ctx struct{ c fiber.Ctx }

func (x fiber3Ctx) Session() *core.Session   { return fibersession.Get(x.c) }
func (x fiber3Ctx) Context() context.Context { return x.c.Context() }

// Query copies the value: fasthttp reuses the request's buffers, and the
// routes keep query values in the session.
func (x fiber3Ctx) Query(name string) string { return strings.Clone(x.c.Query(name)) }

func (x fiber3Ctx) String(status int, body string) {
	x.c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	_ = x.c.Status(status).SendString(body)
}
