package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/labstack/echo/v5"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/echosession/v5"
)

func main() {
	store := memstore.New()
	defer store.Close()

	e := echo.New()
	e.Use(echosession.New(store))
	e.GET("/", func(c *echo.Context) error {
		s := echosession.Get(c)
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		return c.String(http.StatusOK, fmt.Sprintf("visits: %d, flashes: %v", n+1, s.Flashes()))
	})
	e.POST("/login", func(c *echo.Context) error {
		s := echosession.Get(c) // check the password (and a CSRF token) first
		s.Renew()               // a new ID when privileges change
		s.SetRemember(c.FormValue("remember") == "on")
		s.Set("user", c.FormValue("user"))
		s.AddFlash("Welcome!")
		return c.Redirect(http.StatusSeeOther, "/")
	})
	e.POST("/logout", func(c *echo.Context) error {
		echosession.Get(c).Destroy()
		return c.Redirect(http.StatusSeeOther, "/")
	})
	if err := e.Start("127.0.0.1:8080"); err != nil {
		log.Fatal(err)
	}
}
