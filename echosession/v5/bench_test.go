package echosession_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/echosession/v5"
)

// The benchmarks serve one steady user through the server's ServeHTTP: a
// request carrying a valid cookie for a session in a memory store. Compare
// them with BenchmarkBare, the same server and route without sessions.

func BenchmarkBare(b *testing.B) {
	var n atomic.Int64
	e := echo.New()
	e.GET("/incr", func(c *echo.Context) error {
		return c.String(http.StatusOK, strconv.FormatInt(n.Add(1), 10))
	})
	req := httptest.NewRequest(http.MethodGet, "/incr", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkSessionIncr increments a counter in the session: a load and a
// delta save per request.
func BenchmarkSessionIncr(b *testing.B) {
	benchSession(b, func(c *echo.Context) error {
		s := echosession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		return c.String(http.StatusOK, strconv.Itoa(n+1))
	})
}

// BenchmarkSessionRead reads the counter: a load per request, no write.
func BenchmarkSessionRead(b *testing.B) {
	benchSession(b, func(c *echo.Context) error {
		n, _ := core.GetAs[int](echosession.Get(c), "n")
		return c.String(http.StatusOK, strconv.Itoa(n))
	})
}

func benchSession(b *testing.B, h echo.HandlerFunc) {
	store := memstore.New()
	b.Cleanup(func() { store.Close() })
	e := echo.New()
	e.Use(echosession.New(store))
	e.GET("/start", func(c *echo.Context) error {
		echosession.Get(c).Set("n", 1)
		return c.String(http.StatusOK, "1")
	})
	e.GET("/incr", h)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/start", nil))
	cks := rec.Result().Cookies()
	if len(cks) != 1 {
		b.Fatalf("no session cookie: %q", rec.Header().Values("Set-Cookie"))
	}
	req := httptest.NewRequest(http.MethodGet, "/incr", nil)
	req.AddCookie(cks[0])
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || len(rec.Header().Values("Set-Cookie")) != 0 {
			b.Fatal(rec.Code, rec.Header())
		}
	}
}
