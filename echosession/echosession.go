package echosession

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/sessionkit/sessionkit/core"
)

// New returns the Echo middleware for a new [core.Manager] keeping
// sessions in store, configured by opts. Configuration mistakes panic
// here, as in [core.NewManager].
func New(store core.Store, opts ...core.Option) echo.MiddlewareFunc {
	return FromManager(core.NewManager(store, opts...))
}

// FromManager returns the Echo middleware for an existing manager, so
// that one manager (one store, one configuration) serves several servers
// or frameworks. It panics if m is nil.
//
// The middleware loads the request's session once, before the next
// handler, and makes it available through [Get] and, for code below the
// handler, through [core.FromContext] on c.Request().Context(). It commits
// the session when the response headers are about to be written, so the
// cookie goes out with them even when the handler writes the body first;
// if the handler writes nothing (also when it returns an error for the
// HTTPErrorHandler to render), it commits when the handler returns, and
// changes made after the body started are saved then too. The same
// manager's middleware met twice on one request (on the server and on a
// group) loads and commits once: the outer one does.
//
// Store errors are returned to Echo's HTTPErrorHandler, wrapping the
// store's error, which answers 500 by default. A commit that fails as the
// handler starts its response drops the handler's status, headers
// describing its body, and body, and leaves the response uncommitted for
// the HTTPErrorHandler. A failure that can no longer change the response
// (changes made after the body started) is logged with c.Logger() and
// returned; it wraps [core.ErrHeadersWritten] when the change needed a
// header. A handler that panics leaves its session uncommitted.
func FromManager(m *core.Manager) echo.MiddlewareFunc {
	if m == nil {
		panic("echosession: FromManager(nil)")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if m.FromContext(r.Context()) != nil {
				return next(c) // mounted twice: the outer one loads and commits
			}
			ctx, s, err := m.LoadContext(r.Context(), m.Token(r))
			if err != nil {
				return err
			}
			c.SetRequest(r.WithContext(ctx))
			res := c.Response()
			w := &writer{ResponseWriter: res.Writer, m: m, s: s, ctx: ctx}
			res.Writer = w
			defer w.restore(res)
			return w.finish(c, next(c))
		}
	}
}

// Get returns the session the middleware loaded for c, or nil when the
// middleware did not run for this request. With two session middlewares
// on one route it returns the innermost one's; use the manager's
// [core.Manager.FromContext] on c.Request().Context() for the other.
//
// Get reads the session from c.Request().Context(), not from Echo's
// c.Get store, so the middleware adds no map to a request that uses none:
// a handler that replaces the request must derive the new request's
// context from the old one (as r.WithContext(ctx) with ctx from
// r.Context() does).
func Get(c echo.Context) *core.Session {
	r := c.Request()
	if r == nil {
		return nil
	}
	return core.FromContext(r.Context())
}

// writer commits the session right before the response headers are
// written. echo.Response calls WriteHeader exactly when it sends them.
type writer struct {
	http.ResponseWriter
	m         *core.Manager
	s         *core.Session
	ctx       context.Context
	err       error // the commit's error, set when it failed
	committed bool  // commit attempted
}

// commit runs the commit once; it reports whether the handler's output may
// go on. On failure nothing is written, so the HTTPErrorHandler can answer.
func (w *writer) commit() bool {
	if w.committed {
		return w.err == nil
	}
	w.committed = true
	res, err := w.m.Commit(w.ctx, w.s)
	if err != nil {
		w.err = err
		h := w.ResponseWriter.Header()
		h.Del("Content-Type")
		h.Del("Content-Length")
		return false
	}
	w.m.WriteHeaders(w.ResponseWriter.Header(), res)
	return true
}

// WriteHeader commits the session and writes the headers; after a failed
// commit it writes nothing.
func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: headers still to come
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write commits the session and writes p; after a failed commit it drops p.
func (w *writer) Write(p []byte) (int, error) {
	if !w.commit() {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// FlushError commits the session and flushes the response, for
// http.ResponseController (which echo.Response.Flush uses).
func (w *writer) FlushError() error {
	if !w.commit() {
		return nil
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is FlushError for callers of http.Flusher.
func (w *writer) Flush() { _ = w.FlushError() }

// Hijack commits the session (its cookie cannot be sent on a hijacked
// connection unless the handler writes it) and hijacks the connection.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errors.New("echosession: session commit failed, connection not hijacked")
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish commits after the handler returned herr: the whole commit when it
// wrote nothing, or the changes made after the body started. It returns
// the error for Echo's HTTPErrorHandler.
func (w *writer) finish(c echo.Context, herr error) error {
	if !w.committed {
		w.commit()
	} else if w.err == nil && w.s.Modified() {
		if _, err := w.m.Commit(w.ctx, w.s); err != nil {
			// The response has started, so Echo's default HTTPErrorHandler
			// would drop the error silently.
			c.Logger().Error(err)
			if herr == nil {
				herr = err
			}
		}
		return herr
	}
	if w.err == nil {
		return herr
	}
	// The handler's output was dropped: hand an uncommitted response to the
	// HTTPErrorHandler.
	res := c.Response()
	res.Committed, res.Status, res.Size = false, http.StatusOK, 0
	if herr != nil {
		c.Logger().Error(herr)
	}
	return w.err
}

// restore puts back the writer the middleware wrapped, so that earlier
// middlewares and the HTTPErrorHandler write directly.
func (w *writer) restore(res *echo.Response) {
	res.Writer = w.ResponseWriter
}
