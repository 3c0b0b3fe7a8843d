package core_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// Log out other devices: bind each session to its user at login, list the
// user's devices, and destroy all but the current one.
func ExampleManager_DestroyUserSessions() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		s.SetUser("alice") // after checking the password
		s.Renew()
	})
	mux.HandleFunc("GET /devices", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		infos, err := m.UserSessions(r.Context(), s.User())
		if err != nil {
			http.Error(w, "cannot list devices", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d devices:", len(infos))
		for _, in := range infos { // newest first
			if in.Handle == s.Handle() {
				fmt.Fprint(w, " this one")
			} else {
				fmt.Fprint(w, " another")
			}
		}
		fmt.Fprintln(w)
	})
	mux.HandleFunc("POST /logout-others", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, err := m.DestroyUserSessions(r.Context(), s.User(), s.Handle())
		if err != nil {
			http.Error(w, "cannot log out the other devices", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "logged out %d other devices\n", n)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	browser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	do := func(c *http.Client, method, path string) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		res, err := c.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		fmt.Print(string(body))
	}
	laptop, phone := browser(), browser()
	do(laptop, "POST", "/login")
	do(phone, "POST", "/login")
	do(laptop, "GET", "/devices")
	do(laptop, "POST", "/logout-others")
	do(laptop, "GET", "/devices")
	// Output:
	// 2 devices: another this one
	// logged out 1 other devices
	// 1 devices: this one
}

// Events: log what happens to sessions, without their IDs.
func ExampleWithEvents() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, core.WithEvents(func(ctx context.Context, e core.Event) {
		// Runs in the request's goroutine: keep it fast, or hand off.
		fmt.Println(e.Kind, e.User)
	}))
	ctx := context.Background()
	s, _ := m.Load(ctx, "")
	s.SetUser("alice")
	res, _ := m.Commit(ctx, s)

	s, _ = m.Load(ctx, res.Token)
	s.Destroy()
	m.Commit(ctx, s)
	// Output:
	// created alice
	// bound alice
	// destroyed alice
}
