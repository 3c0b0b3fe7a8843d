package fibersession

import (
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/valyala/fasthttp"

	"github.com/sessionkit/sessionkit/core"
)

// Error is what the middleware returns to Fiber's ErrorHandler when the
// session store fails, on load or on commit. Fiber's DefaultErrorHandler
// sends err.Error() as the response body, so Error returns only "Internal
// Server Error"; the store's error, which may name hosts or files, is in
// Err (log it from a custom ErrorHandler). An Error is not a *fiber.Error:
// handlers that map errors to status codes answer 500 for it, as they do
// for any plain error.
type Error struct {
	// Err is core's error, which wraps the store's.
	Err error
}

// Error returns the text of status 500, safe to send to a client.
func (e *Error) Error() string { return http.StatusText(http.StatusInternalServerError) }

// Unwrap returns e.Err, so errors.Is and errors.As see the store's error.
func (e *Error) Unwrap() error { return e.Err }

// New returns the session middleware for a new [core.Manager] over store,
// configured by opts. Configuration mistakes panic here, as in
// [core.NewManager].
func New(store core.Store, opts ...core.Option) fiber.Handler {
	return FromManager(core.NewManager(store, opts...))
}

// FromManager returns the session middleware for an existing manager, so
// that one manager (one store, one configuration) serves several apps or
// frameworks. The returned handler is safe for concurrent use.
func FromManager(m *core.Manager) fiber.Handler {
	if m == nil {
		panic("fibersession: FromManager(nil)")
	}
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		if m.FromContext(ctx) != nil {
			// Mounted twice on one route (an app and its mounted
			// sub-app): the outer one loads and commits.
			return c.Next()
		}
		sctx, s, err := m.LoadContext(ctx, token(c, m))
		if err != nil {
			return &Error{Err: err}
		}
		c.SetUserContext(sctx)

		herr := c.Next()

		// Committed whatever the handler returned: see the package doc.
		res, err := m.Commit(ctx, s)
		resp := c.Response()
		if err != nil {
			resp.ResetBody()
			resp.Header.Del(fiber.HeaderContentEncoding)
			resp.Header.DelAllCookies()
			return &Error{Err: err}
		}
		m.WriteHeaders(header{&resp.Header}, res)
		return herr
	}
}

// Get returns the session the middleware loaded for c, or nil when the
// middleware did not run for this request. It reads the session from
// c.UserContext(), where the middleware put it (with two managers in one
// app, the innermost one's; use m.FromContext(c.UserContext()) to pick
// one): a handler that calls c.SetUserContext must derive the new context
// from c.UserContext(). Reading it there rather than from c.Locals spares
// fasthttp's user-value list a write and a search on every request.
func Get(c *fiber.Ctx) *core.Session {
	return core.FromContext(c.UserContext())
}

// token returns the request's session token as a string of its own:
// fasthttp reuses the buffers its header values point into.
func token(c *fiber.Ctx, m *core.Manager) string {
	// PeekAll returns the header lines as received, unless something
	// made fasthttp parse the cookies before (then it rebuilds the line).
	var buf [4]string
	vals := buf[:0]
	for _, v := range c.Request().Header.PeekAll(m.TokenHeader()) {
		vals = append(vals, utils.UnsafeString(v))
	}
	return strings.Clone(m.TokenFrom(vals))
}

// header adapts fasthttp's response header to core.Header.
type header struct{ h *fasthttp.ResponseHeader }

// Get returns every line of name joined with ", ", so that a token on any
// line counts.
func (a header) Get(name string) string {
	vals := a.h.PeekAll(name)
	switch len(vals) {
	case 0:
		return ""
	case 1:
		return string(vals[0])
	}
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(v)
	}
	return b.String()
}

func (a header) Set(name, value string) { a.h.Set(name, value) }

// Add keeps each Set-Cookie on its own line (fasthttp stores them apart
// from other headers), replacing any cookie of the same name the handler
// set, and merges any other header into one comma-separated line.
func (a header) Add(name, value string) {
	if strings.EqualFold(name, fiber.HeaderSetCookie) {
		if k, _, ok := strings.Cut(value, "="); ok {
			a.h.DelCookie(strings.TrimSpace(k))
		}
		a.h.Add(name, value)
		return
	}
	if old := a.Get(name); old != "" {
		a.h.Set(name, old+", "+value)
		return
	}
	a.h.Add(name, value)
}
