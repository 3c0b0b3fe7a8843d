package core_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

// mustURL parses a URL the example made itself.
func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// get sends GET path through client and returns the body.
func get(client *http.Client, url string) string {
	res, err := client.Get(url)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return string(body)
}

// Flashes are messages for the next page: read once, then gone.
func ExampleSession_Flashes() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /save", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).AddFlash("Saved.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, core.FromContext(r.Context()).Flashes())
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	res, err := client.Post(srv.URL+"/save", "text/plain", nil) // follows the redirect
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Println(string(body))
	fmt.Println(get(client, srv.URL+"/"))
	// Output:
	// [Saved.]
	// []
}

// SetWithTTL gives one key a timeout of its own, shorter than the
// session's: here a one-time code that is gone after a minute, while the
// session lives on.
func ExampleSession_SetWithTTL() {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := memstore.New(memstore.WithClock(clock))
	defer store.Close()
	m := core.NewManager(store, core.WithClock(clock))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /send", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		s.Set("user", "ada")
		s.SetWithTTL("code", "493817", time.Minute)
	})
	mux.HandleFunc("GET /check", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		_, hasCode := s.Get("code")
		user, _ := core.GetAs[string](s, "user")
		fmt.Fprint(w, user, " code:", hasCode)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get(client, srv.URL+"/send")
	fmt.Println(get(client, srv.URL+"/check"))
	now = now.Add(2 * time.Minute)
	fmt.Println(get(client, srv.URL+"/check"))
	// Output:
	// ada code:true
	// ada code:false
}

// Logout: Destroy deletes the record and expires the cookie.
func ExampleSession_Destroy() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Set("user", "ada")
	})
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		core.FromContext(r.Context()).Destroy()
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		user, ok := core.GetAs[string](core.FromContext(r.Context()), "user")
		fmt.Fprint(w, user, " ", ok)
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get(client, srv.URL+"/login")
	fmt.Println(get(client, srv.URL+"/whoami"))
	get(client, srv.URL+"/logout")
	fmt.Println(get(client, srv.URL+"/whoami"), len(jar.Cookies(mustURL(srv.URL))))
	// Output:
	// ada true
	//  false 0
}

// WithHeaderToken carries the session in a request header instead of a
// cookie, for API clients: the token comes back in the same header when it
// is new or rotated.
func ExampleWithHeaderToken() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, core.WithHeaderToken("X-Session"))

	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "calls")
		s.Set("calls", n+1)
		fmt.Fprint(w, n+1)
	}))
	call := func(token string) (body, newToken string, cookies int) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if token != "" {
			req.Header.Set("X-Session", token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String(), rec.Header().Get("X-Session"), len(rec.Result().Cookies())
	}
	body, token, cookies := call("")
	fmt.Println(body, len(token), cookies)
	body, again, _ := call(token)
	fmt.Println(body, again == "")
	// Output:
	// 1 43 0
	// 2 true
}
