package core

import (
	"bufio"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
)

// Header is the response-header access [Manager.WriteHeaders] needs;
// [http.Header] implements it, and adapters for other frameworks wrap
// their own.
type Header interface {
	// Get returns the first value of the named header, or "".
	Get(name string) string
	// Set replaces the values of the named header with value.
	Set(name, value string)
	// Add appends value to the values of the named header.
	Add(name, value string)
}

// WriteHeaders adds to h what res implies: Set-Cookie (cookie mode) or the
// token header (header mode), Vary on the cookie or token header, and,
// when a cookie or a token header is set, a Cache-Control that keeps
// shared caches from storing the response (and so handing one client's
// token to another).
func (m *Manager) WriteHeaders(h Header, res CommitResult) {
	if hh, ok := h.(http.Header); ok {
		h = canonicalHeader(hh)
	}
	if res.Vary && !headerHasToken(h.Get("Vary"), m.vary) {
		h.Add("Vary", m.vary)
	}
	if m.cfg.headerName != "" {
		if res.SendToken {
			h.Set(m.cfg.headerName, res.Token)
			privateCache(h, m.cfg.headerName)
		}
		return
	}
	if res.Cookie == nil {
		return
	}
	h.Add("Set-Cookie", res.Cookie.String())
	privateCache(h, "Set-Cookie")
}

// canonicalHeader is an [http.Header] written with names already in
// canonical form (every name WriteHeaders uses is: the constants, and the
// token header canonicalized by [WithHeaderToken]), so that it skips the
// canonicalization http.Header's methods repeat on every call.
type canonicalHeader http.Header

func (h canonicalHeader) Get(name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h canonicalHeader) Set(name, value string) { h[name] = []string{value} }
func (h canonicalHeader) Add(name, value string) { h[name] = append(h[name], value) }

// privateCache marks the response private unless it already says
// no-store or private: a shared cache must not store header, which
// carries a session token.
func privateCache(h Header, header string) {
	cc := h.Get("Cache-Control")
	if !headerHasToken(cc, "no-store") && !headerHasToken(cc, "private") {
		h.Set("Cache-Control", `private, no-cache="`+header+`"`)
	}
}

func headerHasToken(v, token string) bool {
	for v != "" {
		var part string
		part, v, _ = strings.Cut(v, ",")
		part, _, _ = strings.Cut(part, "=")
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}

// cookieToken returns the value of the session cookie among the Cookie
// header lines: the first with the shape of an ID, else the first one. A
// request with one session cookie, the usual case, has its value returned
// unchecked: the caller checks the token it loads anyway.
func cookieToken(lines []string, name string) string {
	var vals []string // the values after the first, checked only if there are any
	first, seen := "", false
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != name {
				continue
			}
			if v = unquote(v); !seen {
				first, seen = v, true
			} else {
				vals = append(vals, v)
			}
		}
	}
	if len(vals) == 0 || validID(first) {
		return first
	}
	for _, v := range vals {
		if validID(v) {
			return v
		}
	}
	return first
}

// unquote removes the double quotes a cookie value may be sent in.
func unquote(v string) string {
	if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// Handler is the net/http middleware (for the standard mux, chi and any
// router built on http.Handler). It loads the request's session before
// calling next, puts it in the request context ([FromContext]), and
// commits it when the response headers are about to be written, so the
// cookie goes out with them and a failing store can still turn the
// response into an error (written by the [WithErrorHandler] handler, 500
// by default; the handler's own output is then dropped). If next writes
// nothing, the session is committed after it returns; changes made after
// the body started are saved after it returns too.
//
// The response writer passed to next keeps http.Flusher, http.Hijacker and
// Unwrap (for http.ResponseController) working; flushing or hijacking
// commits the session first.
//
// The same manager's middleware met twice on one request (on a router and
// on a subrouter) loads and commits once: the outer one does, and the
// inner one only calls next. The framework adapters do the same.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.FromContext(r.Context()) != nil {
			next.ServeHTTP(w, r)
			return
		}
		hs := &handlerState{}
		hs.ctx.Context = r.Context()
		if err := m.load(r.Context(), m.Token(r), &hs.ctx.s); err != nil {
			m.fail(w, r, err)
			return
		}
		r = r.WithContext(&hs.ctx)
		hs.w = responseWriter{ResponseWriter: w, m: m, s: &hs.ctx.s, r: r}
		next.ServeHTTP(&hs.w, r)
		hs.w.finish()
	})
}

func (m *Manager) fail(w http.ResponseWriter, r *http.Request, err error) {
	if h := m.cfg.errorHandler; h != nil {
		h(w, r, err)
		return
	}
	if errors.Is(err, ErrHeadersWritten) {
		m.cfg.logger.LogAttrs(r.Context(), slog.LevelError, "sessionkit: session change lost after the response started",
			slog.String("error", err.Error()))
		return
	}
	m.cfg.logger.LogAttrs(r.Context(), slog.LevelError, "sessionkit: session store failed",
		slog.String("error", err.Error()))
	http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
}

// handlerState is what Handler needs per request, in one allocation.
type handlerState struct {
	ctx sessionContext
	w   responseWriter
}

// responseWriter commits the session right before the response headers
// are written.
type responseWriter struct {
	http.ResponseWriter
	m         *Manager
	s         *Session
	r         *http.Request
	committed bool // commit attempted
	failed    bool // commit failed: an error response replaced the handler's
}

// commit runs the commit once; it reports whether the handler's output may
// go on.
func (w *responseWriter) commit() bool {
	if w.committed {
		return !w.failed
	}
	w.committed = true
	res, err := w.m.Commit(w.r.Context(), w.s)
	if err != nil {
		w.failed = true
		if res.Cookie != nil || res.SendToken {
			// The session is gone (a Renew that lost it): the client's
			// token must go too.
			w.m.WriteHeaders(w.ResponseWriter.Header(), res)
		}
		w.m.fail(w.ResponseWriter, w.r, err)
		return false
	}
	w.m.WriteHeaders(w.ResponseWriter.Header(), res)
	return true
}

func (w *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: headers still to come
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.commit() {
		return len(p), nil // dropped: the error response is already out
	}
	return w.ResponseWriter.Write(p)
}

// WriteString keeps io.StringWriter fast paths working.
func (w *responseWriter) WriteString(s string) (int, error) {
	if !w.commit() {
		return len(s), nil
	}
	if sw, ok := w.ResponseWriter.(interface{ WriteString(string) (int, error) }); ok {
		return sw.WriteString(s)
	}
	return w.ResponseWriter.Write([]byte(s))
}

// Flush commits the session and flushes the underlying writer.
func (w *responseWriter) Flush() {
	if !w.commit() {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session (its cookie cannot be sent on a hijacked
// connection unless the handler writes it) and hijacks the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errors.New("core: session commit failed, connection not hijacked")
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish commits after the handler returned: the whole commit when the
// handler wrote nothing, or the changes made after the body started.
func (w *responseWriter) finish() {
	if !w.committed {
		w.commit()
		return
	}
	if w.failed || !w.s.Modified() {
		return
	}
	if _, err := w.m.Commit(w.r.Context(), w.s); err != nil {
		w.m.fail(w.ResponseWriter, w.r, err)
	}
}
