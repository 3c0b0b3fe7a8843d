package ginsession_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/ginsession"
)

func Example() {
	gin.SetMode(gin.ReleaseMode)
	store := memstore.New()
	defer store.Close()

	r := gin.New()
	r.Use(ginsession.New(store))
	r.GET("/visit", func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		c.String(http.StatusOK, "visit %d", n+1)
	})

	var cookie string
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "/visit", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
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

// One manager serves a Gin engine and a net/http handler: a user who logs
// in through one is logged in on the other.
func ExampleFromManager() {
	gin.SetMode(gin.ReleaseMode)
	store := memstore.New()
	defer store.Close()
	m := core.NewManager(store, core.WithCookie(core.Cookie{Name: "sid"}))

	r := gin.New()
	r.Use(ginsession.FromManager(m))
	r.GET("/login", func(c *gin.Context) {
		s := ginsession.Get(c)
		s.Renew()
		s.Set("user", "ada")
		c.String(http.StatusOK, "logged in")
	})

	api := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, _ := core.GetAs[string](core.FromContext(r.Context()), "user")
		fmt.Fprintf(w, "hello %s", user)
	}))

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login", nil))
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
