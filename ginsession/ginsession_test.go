package ginsession_test

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/ginsession"
)

var errDown = errors.New("test: store down")

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// app is an engine with the session middleware over a fault store; an
// earlier middleware records c.Errors and, when render is set, answers
// 503 with JSON for them.
type app struct {
	engine *gin.Engine
	store  *sessiontest.FaultStore
	errs   chan []error
}

func newApp(t *testing.T, render bool) *app {
	t.Helper()
	mem := memstore.New()
	t.Cleanup(func() { mem.Close() })
	a := &app{engine: gin.New(), store: sessiontest.NewFaultStore(mem), errs: make(chan []error, 1)}
	a.engine.Use(func(c *gin.Context) {
		c.Next()
		var errs []error
		for _, e := range c.Errors {
			errs = append(errs, e.Err)
		}
		a.errs <- errs
		if render && len(errs) > 0 && !c.Writer.Written() {
			c.JSON(http.StatusServiceUnavailable, gin.H{"error": "sessions unavailable"})
		}
	})
	a.engine.Use(ginsession.New(a.store))
	a.engine.GET("/incr", func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		c.String(http.StatusOK, "n=%d", n+1)
	})
	return a
}

// do serves one request with an optional session cookie and returns the
// response and the errors the earlier middleware saw.
func (a *app) do(t *testing.T, path, cookie string) (*httptest.ResponseRecorder, []error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", "session="+cookie)
	}
	rec := httptest.NewRecorder()
	a.engine.ServeHTTP(rec, req)
	return rec, <-a.errs
}

func sessionCookie(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "session" {
			return ck.Value
		}
	}
	return ""
}

func TestStoreErrorsTakeGinErrorPath(t *testing.T) {
	t.Parallel()
	for _, render := range []bool{false, true} {
		a := newApp(t, render)
		rec, errs := a.do(t, "/incr", "")
		id := sessionCookie(t, rec)
		if rec.Code != http.StatusOK || id == "" || len(errs) != 0 {
			t.Fatalf("first request: %d, cookie %q, errors %v", rec.Code, id, errs)
		}
		wantStatus, wantBody := http.StatusInternalServerError, ""
		if render {
			wantStatus, wantBody = http.StatusServiceUnavailable, `{"error":"sessions unavailable"}`
		}
		for _, phase := range []string{"load", "save"} {
			if phase == "load" {
				a.store.FailLoads(errDown)
			} else {
				a.store.FailWrites(errDown)
			}
			rec, errs = a.do(t, "/incr", id)
			a.store.FailLoads(nil)
			a.store.FailWrites(nil)
			if rec.Code != wantStatus || rec.Body.String() != wantBody {
				t.Fatalf("render=%v, store fails on %s: %d %q, want %d %q", render, phase, rec.Code, rec.Body.String(), wantStatus, wantBody)
			}
			if len(errs) != 1 || !errors.Is(errs[0], errDown) {
				t.Fatalf("render=%v, store fails on %s: c.Errors %v, want one wrapping the store error", render, phase, errs)
			}
			if sessionCookie(t, rec) != "" {
				t.Fatalf("render=%v, store fails on %s: a cookie was sent", render, phase)
			}
			if ct := rec.Header().Get("Content-Type"); render && !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("render=%v, store fails on %s: Content-Type %q kept from the dropped body", render, phase, ct)
			}
		}
		rec, _ = a.do(t, "/incr", id)
		if rec.Body.String() != "n=2" {
			t.Fatalf("after the failures: %q, want n=2", rec.Body.String())
		}
	}
}

func TestLateChangeReportedWithCError(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	a.engine.GET("/late", func(c *gin.Context) {
		c.String(http.StatusOK, "body")
		ginsession.Get(c).Set("late", true)
	})
	rec, errs := a.do(t, "/late", "")
	if rec.Code != http.StatusOK || rec.Body.String() != "body" {
		t.Fatalf("got %d %q", rec.Code, rec.Body.String())
	}
	if len(errs) != 1 || !errors.Is(errs[0], core.ErrHeadersWritten) {
		t.Fatalf("c.Errors %v, want one wrapping core.ErrHeadersWritten", errs)
	}
	if a.store.Writes() != 0 {
		t.Fatalf("%d store writes for a new session that could not send its cookie", a.store.Writes())
	}
}

func TestCommitPoints(t *testing.T) {
	t.Parallel()
	handlers := map[string]gin.HandlerFunc{
		"nothing written": func(c *gin.Context) { c.Status(http.StatusNoContent) },
		"AbortWithStatus": func(c *gin.Context) { c.AbortWithStatus(http.StatusNoContent) },
		"WriteHeaderNow": func(c *gin.Context) {
			c.Status(http.StatusNoContent)
			c.Writer.WriteHeaderNow()
		},
		"Flush": func(c *gin.Context) {
			c.Status(http.StatusNoContent)
			c.Writer.Flush()
		},
		"ResponseController": func(c *gin.Context) {
			c.Status(http.StatusNoContent)
			if err := http.NewResponseController(c.Writer).Flush(); err != nil {
				panic(err)
			}
		},
		"Redirect": func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/next") },
	}
	for name, h := range handlers {
		a := newApp(t, false)
		a.engine.GET("/h", func(c *gin.Context) {
			ginsession.Get(c).Set("k", name)
			h(c)
			if !c.Writer.Written() {
				return
			}
			// Changes after the headers went out are saved after the handler.
			ginsession.Get(c).Set("after", true)
		})
		a.engine.GET("/after", func(c *gin.Context) {
			s := ginsession.Get(c)
			k, _ := s.Get("k")
			after, _ := s.Get("after")
			c.String(http.StatusOK, "%v %v", k, after)
		})
		rec, errs := a.do(t, "/h", "")
		if len(errs) != 0 {
			t.Fatalf("%s: errors %v", name, errs)
		}
		if n := len(rec.Header().Values("Set-Cookie")); n != 1 {
			t.Fatalf("%s: %d Set-Cookie headers, want 1 (status %d)", name, n, rec.Code)
		}
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: status %d", name, rec.Code)
		}
		rec, _ = a.do(t, "/after", sessionCookie(t, rec))
		want := name + " true"
		if name == "nothing written" {
			want = name + " <nil>"
		}
		if rec.Body.String() != want {
			t.Fatalf("%s: next request read %q, want %q", name, rec.Body.String(), want)
		}
	}
}

func TestWriterKeepsGinInterfaces(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	a.engine.GET("/w", func(c *gin.Context) {
		w := c.Writer
		if w.Written() || w.Size() != -1 || w.Pusher() != nil {
			c.String(http.StatusTeapot, "fresh writer: written %v size %d", w.Written(), w.Size())
			return
		}
		if _, ok := w.(http.CloseNotifier); !ok {
			c.String(http.StatusTeapot, "no CloseNotifier")
			return
		}
		c.Status(http.StatusCreated)
		if _, err := w.WriteString("abc"); err != nil {
			panic(err)
		}
		if _, err := w.Write([]byte("de")); err != nil {
			panic(err)
		}
		if w.Status() != http.StatusCreated || w.Size() != 5 || !w.Written() {
			panic("status/size not tracked")
		}
	})
	rec, errs := a.do(t, "/w", "")
	if rec.Code != http.StatusCreated || rec.Body.String() != "abcde" || len(errs) != 0 {
		t.Fatalf("got %d %q, errors %v", rec.Code, rec.Body.String(), errs)
	}
}

func TestHijackCommitsFirst(t *testing.T) {
	t.Parallel()
	a := newApp(t, false)
	a.engine.GET("/hijack", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		conn, buf, err := c.Writer.Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = buf.Flush()
	})
	srv := httptest.NewServer(a.engine)
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/hijack")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(bufio.NewReader(res.Body))
	res.Body.Close()
	<-a.errs
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
	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard))
	r.Use(ginsession.New(store))
	r.GET("/panic", func(c *gin.Context) {
		ginsession.Get(c).Set("k", "v")
		panic("handler bug")
	})
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))
	if rec.Code != http.StatusInternalServerError || len(rec.Header().Values("Set-Cookie")) != 0 || store.Writes() != 0 {
		t.Fatalf("got %d, Set-Cookie %q, %d store writes; want 500, none, 0", rec.Code, rec.Header().Values("Set-Cookie"), store.Writes())
	}
}

func TestGet(t *testing.T) {
	t.Parallel()
	users := core.NewManager(memstore.New(), core.WithCookie(core.Cookie{Name: "user"}))
	admins := core.NewManager(memstore.New(), core.WithCookie(core.Cookie{Name: "admin"}))
	r := gin.New()
	r.GET("/none", func(c *gin.Context) {
		c.String(http.StatusOK, "%v", ginsession.Get(c) == nil)
	})
	r.GET("/two", ginsession.FromManager(users), ginsession.FromManager(admins), func(c *gin.Context) {
		ctx := c.Request.Context()
		s := ginsession.Get(c)
		ok := s != nil && s == admins.FromContext(ctx) && s == core.FromContext(ctx) &&
			users.FromContext(ctx) != nil && users.FromContext(ctx) != s
		c.String(http.StatusOK, "%v", ok)
	})
	for _, path := range []string{"/none", "/two"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
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
	ginsession.FromManager(nil)
}
