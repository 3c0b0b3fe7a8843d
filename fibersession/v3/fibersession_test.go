package fibersession_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

var errDown = errors.New("test: store is down")

// newManager returns a manager over a fault-injecting memory store that
// logs nothing.
func newManager(t *testing.T, opts ...core.Option) (*core.Manager, *sessiontest.FaultStore) {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	st := sessiontest.NewFaultStore(mem)
	opts = append([]core.Option{core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	return core.NewManager(st, opts...), st
}

// newSession creates a session holding n and returns its ID.
func newSession(t *testing.T, m *core.Manager, n int) string {
	t.Helper()
	s, err := m.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("n", n)
	res, err := m.Commit(context.Background(), s)
	if err != nil || res.Token == "" {
		t.Fatalf("commit: %q, %v", res.Token, err)
	}
	return res.Token
}

// counter is a handler that adds 1 to "n" and answers it.
func counter(c fiber.Ctx) error {
	s := fibersession.Get(c)
	n, _ := core.GetAs[int](s, "n")
	s.Set("n", n+1)
	return c.SendString(strconv.Itoa(n + 1))
}

func do(t *testing.T, app *fiber.App, path, cookie string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	res, err := app.Test(req, fiber.TestConfig{Timeout: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func sessionCookies(t *testing.T, res *http.Response) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range res.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
		}
		if ck.Name == "session" {
			out = append(out, ck)
		}
	}
	return out
}

// TestTokenOutlivesRequest keeps a session past its request while the
// same fasthttp.RequestCtx serves other sessions: the ID the session holds
// must be a copy, not a view of fasthttp's reused header buffer.
func TestTokenOutlivesRequest(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	app := fiber.New()
	app.Use(fibersession.FromManager(m))
	var kept []*core.Session
	app.Get("/", func(c fiber.Ctx) error {
		kept = append(kept, fibersession.Get(c))
		return c.SendString("ok")
	})
	h := app.Handler()
	var ids []string
	for i := range 50 {
		ids = append(ids, newSession(t, m, i))
	}
	var rc fasthttp.RequestCtx
	for _, id := range ids {
		rc.Request.Reset()
		rc.Response.Reset()
		rc.ResetUserValues()
		raw := "GET / HTTP/1.1\r\nHost: x\r\nCookie: other=1; session=" + id + "\r\n\r\n"
		if err := rc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatal(err)
		}
		h(&rc)
		if rc.Response.StatusCode() != http.StatusOK {
			t.Fatalf("status %d", rc.Response.StatusCode())
		}
	}
	for i, s := range kept {
		if got := s.ID(); got != ids[i] {
			t.Fatalf("session %d: ID %q after later requests, want %q", i, got, ids[i])
		}
	}
}

// TestCookieLines reads the token from every Cookie header line, both as
// fasthttp keeps them raw and once another middleware made it parse them.
func TestCookieLines(t *testing.T) {
	t.Parallel()
	for _, parsed := range []bool{false, true} {
		m, _ := newManager(t)
		app := fiber.New()
		if parsed {
			app.Use(func(c fiber.Ctx) error {
				if c.Cookies("other") != "1" {
					return errors.New("other cookie not seen")
				}
				return c.Next()
			})
		}
		app.Use(fibersession.FromManager(m))
		app.Get("/", counter)
		id := newSession(t, m, 41)
		var rc fasthttp.RequestCtx
		raw := "GET / HTTP/1.1\r\nHost: x\r\nCookie: other=1; session=garbage\r\nCookie: session=" + id + "\r\n\r\n"
		if err := rc.Request.Read(bufio.NewReader(strings.NewReader(raw))); err != nil {
			t.Fatal(err)
		}
		app.Handler()(&rc)
		if body := string(rc.Response.Body()); body != "42" {
			t.Fatalf("parsed=%v: body %q, want 42 (the session of the second Cookie line)", parsed, body)
		}
	}
}

// TestHandlerErrorStillCommits: a handler that changes the session and
// returns an error (a failed login counted, then 401) keeps the change,
// and the new session's cookie goes out with the error response.
func TestHandlerErrorStillCommits(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	app := fiber.New()
	app.Use(fibersession.FromManager(m))
	app.Get("/login", func(c fiber.Ctx) error {
		s := fibersession.Get(c)
		n, _ := core.GetAs[int](s, "failures")
		s.Set("failures", n+1)
		return fiber.ErrUnauthorized
	})
	app.Get("/failures", func(c fiber.Ctx) error {
		n, _ := core.GetAs[int](fibersession.Get(c), "failures")
		return c.SendString(strconv.Itoa(n))
	})
	res, _ := do(t, app, "/login", "")
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", res.StatusCode)
	}
	cks := sessionCookies(t, res)
	if len(cks) != 1 {
		t.Fatalf("%d session cookies with the 401, want 1", len(cks))
	}
	cookie := "session=" + cks[0].Value
	do(t, app, "/login", cookie)
	if _, body := do(t, app, "/failures", cookie); body != "2" {
		t.Fatalf("failures %q, want 2", body)
	}
}

// TestStoreErrors: a store failure reaches Fiber's ErrorHandler wrapped
// (errors.Is finds it), the default answer is a 500 that does not leak
// the store's message, and a failed commit drops the handler's body and
// cookies and supersedes the handler's own error.
func TestStoreErrors(t *testing.T) {
	t.Parallel()
	m, st := newManager(t)
	handler := func(c fiber.Ctx) error {
		fibersession.Get(c).Set("k", "v")
		c.Cookie(&fiber.Cookie{Name: "other", Value: "1"})
		c.Set(fiber.HeaderContentEncoding, "gzip")
		_ = c.SendString("secret handler body")
		return fiber.ErrBadRequest
	}
	errs := make(chan error, 1)
	custom := fiber.New(fiber.Config{ErrorHandler: func(c fiber.Ctx, err error) error {
		errs <- err
		return fiber.DefaultErrorHandler(c, err)
	}})
	custom.Use(fibersession.FromManager(m))
	custom.Get("/", handler)
	plain := fiber.New()
	plain.Use(fibersession.FromManager(m))
	plain.Get("/", handler)

	id := newSession(t, m, 1)
	for _, tc := range []struct {
		name   string
		fail   func(error)
		cookie string
	}{
		{"load", st.FailLoads, "session=" + id},
		{"commit existing", st.FailWrites, "session=" + id},
		{"commit new", st.FailWrites, ""},
	} {
		tc.fail(errDown)
		for _, app := range []*fiber.App{plain, custom} {
			res, body := do(t, app, "/", tc.cookie)
			if res.StatusCode != http.StatusInternalServerError || body != "Internal Server Error" {
				t.Fatalf("%s: %d %q, want 500 \"Internal Server Error\"", tc.name, res.StatusCode, body)
			}
			if v := res.Header.Values("Set-Cookie"); len(v) != 0 {
				t.Fatalf("%s: Set-Cookie %q sent with the error", tc.name, v)
			}
			if ce := res.Header.Get("Content-Encoding"); ce != "" {
				t.Fatalf("%s: Content-Encoding %q kept for the replaced body", tc.name, ce)
			}
		}
		err := <-errs
		var se *fibersession.Error
		if !errors.Is(err, errDown) || !errors.As(err, &se) {
			t.Fatalf("%s: ErrorHandler got %v (%T), want a *fibersession.Error wrapping the store error", tc.name, err, err)
		}
		tc.fail(nil)
	}
}

// TestHeaders: Vary merges into the handler's Vary line; the session
// cookie is sent once, as its own parseable Set-Cookie beside the
// handler's cookies, replacing a cookie of the same name the handler set.
func TestHeaders(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	app := fiber.New()
	app.Use(fibersession.FromManager(m))
	app.Get("/", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderVary, "Accept-Encoding")
		c.Cookie(&fiber.Cookie{Name: "csrf", Value: "abc"})
		c.Cookie(&fiber.Cookie{Name: "session", Value: "handler-set"})
		return counter(c)
	})
	app.Get("/plain", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderVary, "Accept-Encoding")
		return counter(c)
	})
	res, body := do(t, app, "/", "")
	if body != "1" {
		t.Fatalf("body %q", body)
	}
	if v := res.Header.Values("Vary"); len(v) != 1 || v[0] != "Accept-Encoding, Cookie" {
		t.Fatalf("Vary %q, want one line \"Accept-Encoding, Cookie\"", v)
	}
	cks := sessionCookies(t, res)
	if len(cks) != 1 || len(cks[0].Value) != 43 || !cks[0].HttpOnly || cks[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookies %v, want one HttpOnly Lax cookie with a 43-character ID", cks)
	}
	if n := len(res.Header.Values("Set-Cookie")); n != 2 {
		t.Fatalf("%d Set-Cookie lines, want 2 (csrf and session)", n)
	}
	if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "private") {
		t.Fatalf("Cache-Control %q", cc)
	}
	// A steady request carrying the cookie: Vary, no Set-Cookie.
	res, body = do(t, app, "/plain", "session="+cks[0].Value)
	if body != "2" || len(res.Header.Values("Set-Cookie")) != 0 || res.Header.Get("Vary") != "Accept-Encoding, Cookie" {
		t.Fatalf("second request: body %q, Set-Cookie %q, Vary %q", body, res.Header.Values("Set-Cookie"), res.Header.Values("Vary"))
	}
}

// TestMountedTwice: the same manager's middleware on an app and on its
// mounted sub-app loads and commits once.
func TestMountedTwice(t *testing.T) {
	t.Parallel()
	m, st := newManager(t)
	sub := fiber.New()
	sub.Use(fibersession.FromManager(m))
	sub.Get("/incr", counter)
	app := fiber.New()
	app.Use(fibersession.FromManager(m))
	app.Use("/sub", sub)
	res, body := do(t, app, "/sub/incr", "")
	cks := sessionCookies(t, res)
	if body != "1" || len(cks) != 1 {
		t.Fatalf("body %q, %d session cookies; want \"1\" and 1", body, len(cks))
	}
	loads := st.Loads()
	if res, body = do(t, app, "/sub/incr", "session="+cks[0].Value); body != "2" || len(res.Header.Values("Vary")) != 1 {
		t.Fatalf("body %q, Vary %q; want \"2\" and one Vary", body, res.Header.Values("Vary"))
	}
	if n := st.Loads() - loads; n != 1 {
		t.Fatalf("%d store loads for one request, want 1", n)
	}
}

func TestGetWithoutMiddleware(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	app.Get("/", func(c fiber.Ctx) error {
		return c.SendString(strconv.FormatBool(fibersession.Get(c) == nil))
	})
	if _, body := do(t, app, "/", ""); body != "true" {
		t.Fatalf("Get without the middleware: nil is %s", body)
	}
}

// TestGetAfterSetContext: a middleware below ours that derives a new
// context from c.Context() (as it must) keeps Get working, and
// what the handler changes is committed.
func TestGetAfterSetContext(t *testing.T) {
	t.Parallel()
	m, _ := newManager(t)
	type key struct{}
	app := fiber.New()
	app.Use(fibersession.FromManager(m))
	app.Use(func(c fiber.Ctx) error {
		c.SetContext(context.WithValue(c.Context(), key{}, "v"))
		return c.Next()
	})
	app.Get("/", func(c fiber.Ctx) error {
		if c.Context().Value(key{}) != "v" {
			return errors.New("context not replaced")
		}
		return counter(c)
	})
	id := newSession(t, m, 41)
	if _, body := do(t, app, "/", "session="+id); body != "42" {
		t.Fatalf("body %q, want 42", body)
	}
	if _, body := do(t, app, "/", "session="+id); body != "43" {
		t.Fatalf("second request: body %q, want 43 (the first change was saved)", body)
	}
}

func TestFromManagerNil(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("FromManager(nil) did not panic")
		}
	}()
	fibersession.FromManager(nil)
}
