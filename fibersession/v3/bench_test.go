package fibersession_test

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

// BenchmarkMiddleware measures a steady user (a valid cookie for an
// existing session in a memory store, a handler that increments a counter
// and answers it) against the same app without sessions, through
// app.Handler() with a reused fasthttp.RequestCtx.
func BenchmarkMiddleware(b *testing.B) {
	b.Run("Bare", func(b *testing.B) {
		app := fiber.New()
		var n int
		app.Get("/", func(c fiber.Ctx) error {
			n++
			return c.SendString(strconv.Itoa(n))
		})
		run(b, app, "other=1")
	})
	b.Run("Session", func(b *testing.B) {
		store := memstore.New()
		defer store.Close()
		m := core.NewManager(store)
		s, err := m.Load(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		s.Set("n", 0)
		res, err := m.Commit(context.Background(), s)
		if err != nil {
			b.Fatal(err)
		}
		app := fiber.New()
		app.Use(fibersession.FromManager(m))
		app.Get("/", counter)
		run(b, app, "other=1; session="+res.Token)
	})
}

func run(b *testing.B, app *fiber.App, cookie string) {
	h := app.Handler()
	// Parsed from the wire, as a server gets it: fasthttp keeps the Cookie
	// line raw until someone asks it for a single cookie.
	var rc fasthttp.RequestCtx
	raw := "GET / HTTP/1.1\r\nHost: example.com\r\nCookie: " + cookie + "\r\n\r\n"
	if err := rc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		// What fasthttp's server does between two requests of a connection.
		rc.Response.Reset()
		rc.ResetUserValues()
		h(&rc)
		if rc.Response.StatusCode() != fiber.StatusOK {
			b.Fatalf("status %d", rc.Response.StatusCode())
		}
	}
}
