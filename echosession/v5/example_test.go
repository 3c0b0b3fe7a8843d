package echosession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/echosession/v5"
)

func Example() {
	store := memstore.New()
	defer store.Close()

	e := echo.New()
	e.Use(echosession.New(store))
	e.GET("/visit", func(c *echo.Context) error {
		s := echosession.Get(c)
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("visit %d", n+1))
	})

	var cookie string
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "/visit", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if sc := rec.Result().Cookies(); len(sc) > 0 {
			cookie = sc[0].Name + "=" + sc[0].Value
		}
		fmt.Println(rec.Body.String())
	}
	// Output:
	// visit 1
	// visit 2
	// visit 3
}

// One manager serves an Echo server and a net/http handler: a user who
// logs in through one is logged in on the other.
func ExampleFromManager() {
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, core.WithCookie(core.Cookie{Name: "sid"}))

	e := echo.New()
	e.Use(echosession.FromManager(m))
	e.GET("/login", func(c *echo.Context) error {
		s := echosession.Get(c)
		s.Renew()
		s.Set("user", "ada")
		return c.String(http.StatusOK, "logged in")
	})

	api := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := core.GetAs[string](core.FromContext(r.Context()), "user")
		fmt.Fprintf(w, "hello %s", user)
	}))

	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
	ck := rec.Result().Cookies()[0]
	fmt.Println(rec.Body.String(), "with cookie", ck.Name)

	req := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	req.AddCookie(ck)
	rec = httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output:
	// logged in with cookie sid
	// hello ada
}
