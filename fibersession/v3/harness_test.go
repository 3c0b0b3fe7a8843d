package fibersession_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

// harness returns the behaviour-matrix harness for fibersession (Fiber v3): each
// call of its Serve starts a Fiber app with the routes behind
// [fibersession.FromManager] on a real listener on 127.0.0.1 and shuts it
// down with t.Cleanup. Fiber buffers the whole response, so the harness
// is Buffered.
func harness() sessiontest.Harness {
	return sessiontest.Harness{Name: "fiber3", Buffered: true, Serve: serve}
}

func serve(t *testing.T, m *core.Manager, routes []sessiontest.Route) string {
	t.Helper()
	// Fiber's default 4 KiB read buffer caps the whole request header and
	// answers 431 before any middleware runs; the matrix sends a 4.5 KB
	// cookie to check that the middleware, not the server, handles it.
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	app.Use(fibersession.FromManager(m))
	for _, rt := range routes {
		app.Get(rt.Path, func(c fiber.Ctx) error {
			rt.Handle(ctx{c})
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

// listener closes every connection it accepted when it is closed.
// fasthttp's Shutdown waits for open connections to close but closes
// only those idle after a request: a keep-alive connection the client
// dialled and never used would hold it until its timeout. By the time
// t.Cleanup shuts the app down every request of the test has been
// answered, so closing them all loses nothing.
type listener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  []net.Conn
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
	}
	l.conns = append(l.conns, c)
	return c, nil
}

func (l *listener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for _, c := range l.conns {
		c.Close()
	}
	return err
}

// ctx is sessiontest.Ctx over a fiber.Ctx.
type ctx struct{ c fiber.Ctx }

func (x ctx) Session() *core.Session   { return fibersession.Get(x.c) }
func (x ctx) Context() context.Context { return x.c.Context() }

// Query copies the value: fasthttp reuses the request's buffers, and the
// routes keep query values in the session.
func (x ctx) Query(name string) string { return strings.Clone(x.c.Query(name)) }

func (x ctx) String(status int, body string) {
	x.c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	_ = x.c.Status(status).SendString(body)
}
