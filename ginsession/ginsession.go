package ginsession

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
)

// New returns the Gin middleware for a new [core.Manager] keeping sessions
// in store, configured by opts. Configuration mistakes panic here, as in
// [core.NewManager].
func New(store core.Store, opts ...core.Option) gin.HandlerFunc {
	return FromManager(core.NewManager(store, opts...))
}

// FromManager returns the Gin middleware for an existing manager, so that
// one manager (one store, one configuration) serves several engines or
// frameworks. It panics if m is nil.
//
// The middleware loads the request's session once, before the handlers
// after it, and makes it available through [Get] and, for code below the
// handler, through [core.FromContext] on c.Request.Context(). It commits
// the session when the response headers are about to be written, so the
// cookie goes out with them even when the handler writes the body first;
// if the handlers write nothing, it commits when they return, and changes
// made after the body started are saved then too. The same manager's
// middleware met twice on one request (on the engine and on a group)
// loads and commits once: the outer one does.
//
// Store errors take Gin's error path: the error (wrapping the store's) is
// added with c.Error, the chain is aborted and the status becomes 500,
// written when the chain unwinds unless an earlier middleware renders its
// own response from c.Errors. A commit that fails as the handler starts
// its response drops the handler's status, headers describing its body,
// and body. A failure that can no longer change the response (changes
// made after the body started) is only added with c.Error; it wraps
// [core.ErrHeadersWritten] when the change needed a header. A handler that
// panics leaves its session uncommitted.
func FromManager(m *core.Manager) gin.HandlerFunc {
	if m == nil {
		panic("ginsession: FromManager(nil)")
	}
	return func(c *gin.Context) {
		r := c.Request
		if m.FromContext(r.Context()) != nil {
			c.Next() // mounted twice: the outer one loads and commits
			return
		}
		ctx, s, err := m.LoadContext(r.Context(), m.Token(r))
		if err != nil {
			fail(c, err)
			return
		}
		c.Request = r.WithContext(ctx)
		w := &writer{ResponseWriter: c.Writer, m: m, s: s, ctx: ctx}
		c.Writer = w
		defer w.restore(c)
		c.Next()
		w.finish(c)
	}
}

// Get returns the session the middleware loaded for c, or nil when the
// middleware did not run for this request. With two session middlewares
// on one route it returns the innermost one's; use the manager's
// [core.Manager.FromContext] on c.Request.Context() for the other.
//
// Get reads the session from c.Request.Context(), not from c.Keys, so the
// middleware adds no map to a request that uses none: a handler that
// replaces c.Request must derive the new request's context from the old
// one (as r.WithContext(ctx) with ctx from r.Context() does).
func Get(c *gin.Context) *core.Session {
	if c.Request == nil {
		return nil
	}
	return core.FromContext(c.Request.Context())
}

func fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
	c.Status(http.StatusInternalServerError)
}

// writer commits the session right before the response headers are
// written. Gin's WriteHeader only records the status; the headers go out
// on WriteHeaderNow, Write, WriteString, Flush or Hijack.
type writer struct {
	gin.ResponseWriter
	m         *core.Manager
	s         *core.Session
	ctx       context.Context
	err       error // the commit's error, set when it failed
	committed bool  // commit attempted
}

// commit runs the commit once; it reports whether the handler's output may
// go on. On failure the status becomes 500 and nothing is written yet, so
// the middleware can take Gin's error path.
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
		w.ResponseWriter.WriteHeader(http.StatusInternalServerError)
		return false
	}
	w.m.WriteHeaders(w.ResponseWriter.Header(), res)
	return true
}

// WriteHeader records the status, unless the commit failed.
func (w *writer) WriteHeader(code int) {
	if w.err == nil {
		w.ResponseWriter.WriteHeader(code)
	}
}

// WriteHeaderNow commits the session and writes the headers.
func (w *writer) WriteHeaderNow() {
	if w.commit() {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// Write commits the session and writes p; after a failed commit it drops p.
func (w *writer) Write(p []byte) (int, error) {
	if !w.commit() {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// WriteString commits the session and writes s; after a failed commit it
// drops s.
func (w *writer) WriteString(s string) (int, error) {
	if !w.commit() {
		return len(s), nil
	}
	return w.ResponseWriter.WriteString(s)
}

// Written reports whether the response was started, counting output
// dropped after a failed commit.
func (w *writer) Written() bool {
	return w.err != nil || w.ResponseWriter.Written()
}

// Flush commits the session and flushes the response.
func (w *writer) Flush() {
	if w.commit() {
		w.ResponseWriter.Flush()
	}
}

// Hijack commits the session (its cookie cannot be sent on a hijacked
// connection unless the handler writes it) and hijacks the connection.
func (w *writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errors.New("ginsession: session commit failed, connection not hijacked")
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish commits after the handlers returned: the whole commit when they
// wrote nothing, or the changes made after the body started.
func (w *writer) finish(c *gin.Context) {
	if !w.committed {
		w.commit()
	} else if w.err == nil && w.s.Modified() {
		if _, err := w.m.Commit(w.ctx, w.s); err != nil {
			_ = c.Error(err)
		}
		return
	}
	if w.err != nil {
		fail(c, w.err)
	}
}

// restore puts back the writer the middleware wrapped, so that earlier
// middlewares write directly (an error response after a failed commit, a
// recovery's 500 after a panic).
func (w *writer) restore(c *gin.Context) {
	c.Writer = w.ResponseWriter
}
