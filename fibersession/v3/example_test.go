package fibersession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

func Example() {
	store := memstore.New()
	defer store.Close()

	app := fiber.New()
	app.Use(fibersession.New(store))
	app.Get("/visits", func(c fiber.Ctx) error {
		s := fibersession.Get(c)
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		return c.SendString(strconv.Itoa(n + 1))
	})

	var cookie *http.Cookie
	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "/visits", nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := app.Test(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if cks := res.Cookies(); len(cks) > 0 {
			cookie = cks[0]
		}
		fmt.Printf("visits=%s new cookie=%t\n", body, len(res.Cookies()) > 0)
	}
	// Output:
	// visits=1 new cookie=true
	// visits=2 new cookie=false
	// visits=3 new cookie=false
}
