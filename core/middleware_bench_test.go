package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// steadyUser returns a request carrying the cookie of an existing session
// whose counter the handler increments.
func steadyUser(b *testing.B, m *core.Manager) *http.Request {
	b.Helper()
	s, err := m.Load(context.Background(), "")
	if err != nil {
		b.Fatal(err)
	}
	s.Set("n", 0)
	s.Set("user_id", 42)
	s.Set("name", "Ada Lovelace")
	res, err := m.Commit(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(res.Cookie)
	return req
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkHandler measures one steady-user request (load, increment a
// counter, save) through Manager.Handler beside a bare http.ServeMux.
func BenchmarkHandler(b *testing.B) {
	counter := 0
	bare := http.NewServeMux()
	bare.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		counter++
		w.Write(strconv.AppendInt(nil, int64(counter), 10))
	})
	withSession := http.NewServeMux()
	withSession.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "n")
		n++
		s.Set("n", n)
		w.Write(strconv.AppendInt(nil, int64(n), 10))
	})
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)
	h := m.Handler(withSession)

	b.Run("bare", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			bare.ServeHTTP(w, req)
		}
	})
	b.Run("session", func(b *testing.B) {
		req := steadyUser(b, m)
		w := &discardWriter{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
		}
	})
}
