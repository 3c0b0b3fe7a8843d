package core_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// The net/http middleware: load the session before the handler, commit it
// when the response headers go out.
func ExampleManager_Handler() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		fmt.Fprintf(w, "visit %d", n+1)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	for range 3 {
		res, err := client.Get(srv.URL + "/visit")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// Login: rotate the ID to defeat session fixation, and remember the user
// across browser restarts if asked to.
func ExampleSession_Renew() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)

	login := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		s.Renew()
		s.Set("user_id", 42)
		s.SetRemember(r.FormValue("remember") == "on")
		s.AddFlash("Welcome back!")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}))
	rec := httptest.NewRecorder()
	login.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/login?remember=on", nil))
	ck, _ := http.ParseSetCookie(rec.Header().Get("Set-Cookie"))
	fmt.Println(rec.Code, ck.Name, ck.HttpOnly, ck.MaxAge == int(core.DefaultRememberTimeout.Seconds()))
	// Output: 303 session true true
}

// GetAs reads a value with its type.
func ExampleGetAs() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		s.Set("user_id", 42)
		id, ok := core.GetAs[int](s, "user_id")
		_, wrongType := core.GetAs[string](s, "user_id")
		fmt.Println(id, ok, wrongType)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	// Output: 42 true false
}
