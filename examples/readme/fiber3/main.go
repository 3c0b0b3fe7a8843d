package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/gofiber/fiber/v3"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/fibersession/v3"
)

func main() {
	store := memstore.New()
	defer store.Close()

	app := fiber.New()
	app.Use(fibersession.New(store))
	app.Get("/", func(c fiber.Ctx) error {
		s := fibersession.Get(c)
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		return c.SendString(fmt.Sprintf("visits: %d, flashes: %v", n+1, s.Flashes()))
	})
	app.Post("/login", func(c fiber.Ctx) error {
		s := fibersession.Get(c) // check the password (and a CSRF token) first
		s.Renew()                // a new ID when privileges change
		s.SetRemember(c.FormValue("remember") == "on")
		s.Set("user", c.FormValue("user"))
		s.AddFlash("Welcome!")
		return c.Redirect().Status(http.StatusSeeOther).To("/")
	})
	app.Post("/logout", func(c fiber.Ctx) error {
		fibersession.Get(c).Destroy()
		return c.Redirect().Status(http.StatusSeeOther).To("/")
	})
	log.Fatal(app.Listen("127.0.0.1:8080"))
}
