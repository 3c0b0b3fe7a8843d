// Package fibersession is sessionkit's middleware for Fiber v3
// (github.com/gofiber/fiber/v3; module
// github.com/sessionkit/sessionkit/fibersession/v3, while Fiber v2 apps
// use github.com/sessionkit/sessionkit/fibersession with the same API):
// server-side sessions with the same semantics, stores and options as the
// net/http, Gin and Echo middleware.
//
//	app.Use(fibersession.New(store))
//	app.Get("/", func(c fiber.Ctx) error {
//		s := fibersession.Get(c)
//		n, _ := core.GetAs[int](s, "n")
//		s.Set("n", n+1)
//		return c.SendString(strconv.Itoa(n + 1))
//	})
//
// Every session rule lives in package core; this package only adapts
// Fiber's request and response to [core.Manager.Load] and
// [core.Manager.Commit].
//
// # Request
//
// The middleware reads the session token from the request's Cookie
// headers (or, with [core.WithHeaderToken], from the token header), loads
// the session once, and makes it available to the handlers below through
// [Get] and, for code that only has a context.Context, through
// [core.FromContext] on c.Context(). A fiber.Ctx is a context.Context
// too, but its Value reads Fiber's locals, where the session is not: hand
// code below the handler c.Context(), not c. The token is copied out of
// fasthttp's request buffers, which are reused once the handler returns.
// The same manager's middleware met twice on one route (an app and a
// mounted sub-app) loads and commits once.
//
// Fiber's default ReadBufferSize (4 KiB) caps the whole request header:
// a request with larger cookies is answered 431 before any middleware
// runs. Raise it in fiber.Config if your site sets large cookies.
//
// # Deadlines
//
// Fiber v3 has no request deadline: c.Context() is never canceled when
// the client goes away, and fiber.Ctx's own Deadline reports none (a
// fasthttp limitation). Store calls made for a request are therefore
// bounded by the stores' own timeouts, not by the request: the go-redis
// client's read and write timeouts (3 seconds by default), the memcache
// client's Timeout. For a tighter bound, or for a SQL store, give
// c.Context() a deadline in a middleware before this one (c.SetContext),
// and cancel it when c.Next returns.
//
// # Commit
//
// Fiber buffers the whole response, so the session is committed after
// the rest of the chain (c.Next) returns, and its Set-Cookie, Vary and
// Cache-Control headers (or the token header) join the buffered response.
// A change made after the handler wrote its body is therefore still saved
// and still gets its cookie. Changes made later, inside a body stream
// writer (which fasthttp runs after the handler returns), are not saved.
//
// The session is committed even when the handler returns an error: a
// handler that counts failed login attempts and then returns
// fiber.ErrUnauthorized expects the count to be kept, and the new
// session's cookie goes out with the error response Fiber's ErrorHandler
// writes. A handler that panics is not committed.
//
// # Errors
//
// A failing store, on load or on commit, is returned to Fiber's
// ErrorHandler as an [*Error] wrapping the store's error (errors.Is and
// errors.As find it). Fiber's DefaultErrorHandler answers it with 500 and
// the body "Internal Server Error", never the store's message. When the
// commit fails the handler's body and every Set-Cookie it set are dropped
// first, and the store error replaces any error the handler returned.
package fibersession
