package echosession_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/echosession/v5"
)

var errDown = errors.New("test: store down")

// app is an Echo server with the session middleware over a fault store.
// An earlier middleware does what Echo's RequestLogger middleware does with
// HandleError: it hands a returned error to the HTTPErrorHandler at once
// and records the status
// that went out.
type app struct {
	e      *echo.Echo
	store  *sessiontest.FaultStore
	logs   *syncBuffer
	status chan int
	errs   chan error // what the HTTPErrorHandler was given
}

func newApp(t *testing.T, customErrors bool) *app {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	a := &app{e: echo.New(), store: sessiontest.NewFaultStore(mem), logs: &syncBuffer{},
		status: make(chan int, 1), errs: make(chan error, 4)}
	a.e.Logger = slog.New(slog.NewTextHandler(a.logs, nil))
	fallback := echo.DefaultHTTPErrorHandler(false)
	a.e.HTTPErrorHandler = func(c *echo.Context, err error) {
		a.errs <- err
		if res, _ := echo.UnwrapResponse(c.Response()); customErrors && res != nil && !res.Committed {
			_ = c.JSON(http.StatusServiceUnavailable, map[string]string{"error": "sessions unavailable"})
			return
		}
		fallback(c, err)
	}
	a.e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if err := next(c); err != nil {
				a.e.HTTPErrorHandler(c, err)
			}
			res, err := echo.UnwrapResponse(c.Response())
			if err != nil {
				return err
			}
			a.status <- res.Status
			return nil
		}
	})
	a.e.Use(echosession.New(a.store))
	a.e.GET("/incr", func(c *echo.Context) error {
		s := echosession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("n=%d", n+1))
	})
	return a
}

// do serves one request with an optional session cookie; it returns the
// response, the status the earlier middleware saw and the errors the
// HTTPErrorHandler got.
func (a *app) do(t *testing.T, path, cookie string) (*httptest.ResponseRecorder, int, []error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", "session="+cookie)
	}
	rec := httptest.NewRecorder()
	a.e.ServeHTTP(rec, req)
	status := <-a.status
	var errs []error
	for len(a.errs) > 0 {
		errs = append(errs, <-a.errs)
	}
	return rec, status, errs
}

func sessionCookie(rec *httptest.ResponseRecorder) string {
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestStoreErrorsReachHTTPErrorHandler(t *testing.T) {
	t.Parallel()
	for _, custom := range []bool{false, true} {
		a := newApp(t, custom)
		rec, _, errs := a.do(t, "/incr", "")
		id := sessionCookie(rec)
		if rec.Code != http.StatusOK || id == "" || len(errs) != 0 {
			t.Fatalf("first request: %d, cookie %q, errors %v", rec.Code, id, errs)
		}
		wantStatus, wantBody := http.StatusInternalServerError, `{"message":"Internal Server Error"}`
		if custom {
			wantStatus, wantBody = http.StatusServiceUnavailable, `{"error":"sessions unavailable"}`
		}
		for _, phase := range []string{"load", "save"} {
			if phase == "load" {
				a.store.FailLoads(errDown)
			} else {
				a.store.FailWrites(errDown)
			}
			rec, status, errs := a.do(t, "/incr", id)
			a.store.FailLoads(nil)
			a.store.FailWrites(nil)
			if body := strings.TrimSpace(rec.Body.String()); rec.Code != wantStatus || body != wantBody {
				t.Fatalf("custom=%v, store fails on %s: %d %q, want %d %q", custom, phase, rec.Code, body, wantStatus, wantBody)
			}
			if status != wantStatus {
				t.Fatalf("custom=%v, store fails on %s: echo.Response.Status %d, want %d", custom, phase, status, wantStatus)
			}
			if len(errs) != 1 || !errors.Is(errs[0], errDown) {
				t.Fatalf("custom=%v, store fails on %s: HTTPErrorHandler got %v, want one error wrapping the store's", custom, phase, errs)
			}
			if sessionCookie(rec) != "" {
				t.Fatalf("custom=%v, store fails on %s: a cookie was sent", custom, phase)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("custom=%v, store fails on %s: Content-Type %q kept from the dropped body", custom, phase, ct)
			}
		}
		rec, _, _ = a.do(t, "/incr", id)
		if rec.Body.String() != "n=2" {
			t.Fatalf("after the failures: %q, want n=2", rec.Body.String())
		}
	}
}

func TestLateChangeLoggedAndReturned(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	a.e.GET("/late", func(c *echo.Context) error {
		err := c.String(http.StatusOK, "body")
		echosession.Get(c).Set("late", true)
		return err
	})
	rec, _, errs := a.do(t, "/late", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "body" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if len(errs) != 1 || !errors.Is(errs[0], core.ErrHeadersWritten) {
		t.Fatalf("HTTPErrorHandler got %v, want one error wrapping core.ErrHeadersWritten", errs)
	}
	if !strings.Contains(a.logs.String(), core.ErrHeadersWritten.Error()) {
		t.Fatalf("Echo's logger got %q, want the error", a.logs.String())
	}
	if a.store.Writes() != 0 {
		t.Fatalf("%d store writes for a new session that could not send its cookie", a.store.Writes())
	}
}

func TestCommitPoints(t *testing.T) {
	t.Parallel()
	handlers := map[string]echo.HandlerFunc{
		"nothing written": func(c *echo.Context) error { return nil },
		"NoContent":       func(c *echo.Context) error { return c.NoContent(http.StatusNoContent) },
		"Redirect":        func(c *echo.Context) error { return c.Redirect(http.StatusSeeOther, "/next") },
		"error returned":  func(c *echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "no") },
		"Flush": func(c *echo.Context) error {
			c.Response().(http.Flusher).Flush()
			return nil
		},
		"ResponseController": func(c *echo.Context) error {
			return http.NewResponseController(c.Response()).Flush()
		},
	}
	wantStatus := map[string]int{"Redirect": http.StatusSeeOther, "NoContent": http.StatusNoContent, "error returned": http.StatusTeapot}
	for name, h := range handlers {
		a := newApp(t, false)
		a.e.GET("/h", func(c *echo.Context) error {
			echosession.Get(c).Set("k", name)
			return h(c)
		})
		a.e.GET("/read", func(c *echo.Context) error {
			k, _ := echosession.Get(c).Get("k")
			return c.String(http.StatusOK, fmt.Sprint(k))
		})
		rec, _, _ := a.do(t, "/h", "")
		want := wantStatus[name]
		if want == 0 {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Fatalf("%s: status %d, want %d", name, rec.Code, want)
		}
		if n := len(rec.Header().Values("Set-Cookie")); n != 1 {
			t.Fatalf("%s: %d Set-Cookie headers, want 1", name, n)
		}
		rec, _, _ = a.do(t, "/read", sessionCookie(rec))
		if rec.Body.String() != name {
			t.Fatalf("%s: next request read %q", name, rec.Body.String())
		}
	}
}

func TestChangeAfterBodySaved(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	rec, _, _ := a.do(t, "/incr", "")
	id := sessionCookie(rec)
	a.e.GET("/stream", func(c *echo.Context) error {
		c.Response().WriteHeader(http.StatusOK)
		_, _ = io.WriteString(c.Response(), "part1 ")
		c.Response().(http.Flusher).Flush()
		echosession.Get(c).Set("n", 10)
		_, err := io.WriteString(c.Response(), "part2")
		return err
	})
	rec, _, errs := a.do(t, "/stream", id)
	if rec.Body.String() != "part1 part2" || len(errs) != 0 {
		t.Fatalf("got %q, errors %v", rec.Body.String(), errs)
	}
	if rec, _, _ = a.do(t, "/incr", id); rec.Body.String() != "n=11" {
		t.Fatalf("after the stream: %q, want n=11", rec.Body.String())
	}
}

func TestHijackCommitsFirst(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	a.e.GET("/hijack", func(c *echo.Context) error {
		echosession.Get(c).Set("k", "v")
		conn, buf, err := http.NewResponseController(c.Response()).Hijack()
		if err != nil {
			return err
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		return buf.Flush()
	})
	srv := httptest.NewServer(a.e)
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(bufio.NewReader(res.Body))
	res.Body.Close()
	<-a.status
	if string(body) != "hijacked" {
		t.Fatalf("body %q", body)
	}
	if a.store.Writes() != 1 {
		t.Fatalf("%d store writes, want the commit before the hijack", a.store.Writes())
	}
}

func TestPanicLeavesSessionUncommitted(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	store := sessiontest.NewFaultStore(mem)
	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc { // a minimal recover middleware
		return func(c *echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	})
	e.Use(echosession.New(store))
	e.GET("/panic", func(c *echo.Context) error {
		echosession.Get(c).Set("k", "v")
		panic("handler bug")
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))
	if rec.Code != http.StatusInternalServerError || len(rec.Header().Values("Set-Cookie")) != 0 || store.Writes() != 0 {
		t.Fatalf("got %d, Set-Cookie %q, %d store writes; want 500, none, 0", rec.Code, rec.Header().Values("Set-Cookie"), store.Writes())
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	users := core.NewManager(memstore.New(), core.WithCookie(core.Cookie{Name: "user"}))
	admins := core.NewManager(memstore.New(), core.WithCookie(core.Cookie{Name: "admin"}))
	e := echo.New()
	e.GET("/none", func(c *echo.Context) error {
		return c.String(http.StatusOK, fmt.Sprint(echosession.Get(c) == nil))
	})
	e.GET("/two", func(c *echo.Context) error {
		ctx := c.Request().Context()
		s := echosession.Get(c)
		ok := s != nil && s == admins.FromContext(ctx) && s == core.FromContext(ctx) &&
			users.FromContext(ctx) != nil && users.FromContext(ctx) != s
		return c.String(http.StatusOK, fmt.Sprint(ok))
	}, echosession.FromManager(users), echosession.FromManager(admins))
	for _, path := range []string{"/none", "/two"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Body.String() != "true" {
			t.Fatalf("%s: %q", path, rec.Body.String())
		}
	}
}

func TestFromManagerNilPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("FromManager(nil) did not panic")
		}
	}()
	echosession.FromManager(nil)
}

// TestMountedTwice: the same manager's middleware on the server and on a
// group loads and commits once, and the session is the outer one's.
func TestMountedTwice(t *testing.T) {
	t.Parallel()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	store := sessiontest.NewFaultStore(mem)
	m := core.NewManager(store)
	e := echo.New()
	e.Use(echosession.FromManager(m))
	g := e.Group("/g", echosession.FromManager(m))
	g.GET("/incr", func(c *echo.Context) error {
		s := echosession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		return c.String(http.StatusOK, fmt.Sprint(n+1))
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	do := func(cookie string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/g/incr", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	res, body := do("")
	cks := res.Cookies()
	if body != "1" || len(res.Header.Values("Set-Cookie")) != 1 || store.Writes() != 1 {
		t.Fatalf("first request: body %q, Set-Cookie %q, %d store writes; want \"1\", one cookie, 1 write",
			body, res.Header.Values("Set-Cookie"), store.Writes())
	}
	loads, writes := store.Loads(), store.Writes()
	res, body = do(cks[0].Name + "=" + cks[0].Value)
	if body != "2" || len(res.Header.Values("Vary")) != 1 {
		t.Fatalf("second request: body %q, Vary %q; want \"2\" and one Vary", body, res.Header.Values("Vary"))
	}
	if l, w := store.Loads()-loads, store.Writes()-writes; l != 1 || w != 1 {
		t.Fatalf("%d store loads and %d writes for one request, want 1 and 1", l, w)
	}
}

// TestUnwrapResponse: a handler below the middleware reaches Echo's
// *Response through the middleware's writer, and sees it committed once
// it wrote.
func TestUnwrapResponse(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	a.e.GET("/unwrap", func(c *echo.Context) error {
		res, err := echo.UnwrapResponse(c.Response())
		if err != nil {
			return err
		}
		echosession.Get(c).Set("k", "v")
		before := res.Committed
		if err := c.String(http.StatusOK, "ok"); err != nil {
			return err
		}
		if before || !res.Committed || res.Status != http.StatusOK {
			return fmt.Errorf("committed %v then %v, status %d", before, res.Committed, res.Status)
		}
		return nil
	})
	rec, _, errs := a.do(t, "/unwrap", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" || len(errs) != 0 || sessionCookie(rec) == "" {
		t.Fatalf("got %d %q, errors %v, cookie %q", rec.Code, rec.Body.String(), errs, sessionCookie(rec))
	}
}

// TestAutoHandleHEAD: with Echo's automatic HEAD routes, whose writer
// holds the status back until the GET handler returns, a HEAD request that
// changes the session still gets its cookie.
func TestAutoHandleHEAD(t *testing.T) {
	t.Parallel()
	e := echo.NewWithConfig(echo.Config{Router: echo.NewRouter(echo.RouterConfig{AutoHandleHEAD: true})})
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	e.Use(echosession.New(mem))
	e.GET("/h", func(c *echo.Context) error {
		echosession.Get(c).Set("k", "v")
		return c.String(http.StatusOK, "body")
	})
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/h", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || sessionCookie(rec) == "" {
		t.Fatalf("HEAD: %d, body %q, Set-Cookie %q", rec.Code, rec.Body.String(), rec.Header().Values("Set-Cookie"))
	}
}
