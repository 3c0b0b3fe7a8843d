package main

import (
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/ginsession"
)

func main() {
	store := memstore.New()
	defer store.Close()

	r := gin.Default()
	r.Use(ginsession.New(store))
	r.GET("/", func(c *gin.Context) {
		s := ginsession.Get(c)
		n, _ := core.GetAs[int](s, "visits")
		s.Set("visits", n+1)
		c.String(http.StatusOK, "visits: %d, flashes: %v", n+1, s.Flashes())
	})
	r.POST("/login", func(c *gin.Context) {
		s := ginsession.Get(c) // check the password (and a CSRF token) first
		s.Renew()              // a new ID when privileges change
		s.SetRemember(c.PostForm("remember") == "on")
		s.Set("user", c.PostForm("user"))
		s.AddFlash("Welcome!")
		c.Redirect(http.StatusSeeOther, "/")
	})
	r.POST("/logout", func(c *gin.Context) {
		ginsession.Get(c).Destroy()
		c.Redirect(http.StatusSeeOther, "/")
	})
	log.Fatal(r.Run("127.0.0.1:8080"))
}
