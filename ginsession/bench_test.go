package ginsession_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/ginsession"
)

// The benchmarks serve one steady user through the engine's ServeHTTP: a
// request carrying a valid cookie for a session in a memory store. Compare
// them with BenchmarkBare, the same engine and route without sessions.

func BenchmarkBare(b *testing.B) {
	var n atomic.Int64
	r := gin.New()
	r.GET("/incr", func(c *gin.Context) {
		c.String(http.StatusOK, strconv.FormatInt(n.Add(1), 10))
	})
	req := httptest.NewRequest(http.MethodGet, "/incr", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkSessionIncr increments a counter in the session: a load and a
// delta save per request.
func BenchmarkSessionIncr(b *testing.B) {
	benchSession(b, func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.GetAs[int](s, "n")
		s.Set("n", n+1)
		c.String(http.StatusOK, strconv.Itoa(n+1))
	})
}

// BenchmarkSessionRead reads the counter: a load per request, no write.
func BenchmarkSessionRead(b *testing.B) {
	benchSession(b, func(c *gin.Context) {
		n, _ := core.GetAs[int](ginsession.Get(c), "n")
		c.String(http.StatusOK, strconv.Itoa(n))
	})
}

func benchSession(b *testing.B, h gin.HandlerFunc) {
	store := memstore.New()
	b.Cleanup(func() { store.Close() })
	r := gin.New()
	r.Use(ginsession.New(store))
	r.GET("/start", func(c *gin.Context) {
		ginsession.Get(c).Set("n", 1)
		c.String(http.StatusOK, "1")
	})
	r.GET("/incr", h)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/start", nil))
	cks := rec.Result().Cookies()
	if len(cks) != 1 {
		b.Fatalf("no session cookie: %q", rec.Header().Values("Set-Cookie"))
	}
	req := httptest.NewRequest(http.MethodGet, "/incr", nil)
	req.AddCookie(cks[0])
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || len(rec.Header().Values("Set-Cookie")) != 0 {
			b.Fatal(rec.Code, rec.Header())
		}
	}
}
