package sessiontest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

// Ctx is one request as the kit's routes see it. Each adapter implements
// it over its framework's own context, so the routes exercise the
// framework's real response path.
type Ctx interface {
	// Session returns the session through the adapter's own Get.
	Session() *core.Session
	// Context returns the request's context.Context as code below the
	// handler sees it (for core.FromContext).
	Context() context.Context
	// Query returns a URL query parameter.
	Query(name string) string
	// String writes status and a text body the framework's own way (Gin's
	// c.String, Echo's c.String, Fiber's c.Status().SendString).
	String(status int, body string)
}

// Route is one path of the kit's app.
type Route struct {
	// Path is the route's path, such as "/set"; every route answers GET.
	Path string
	// Handle serves a request of the route through the adapter's Ctx.
	Handle func(c Ctx)
}

// Harness is what a middleware under test provides.
type Harness struct {
	// Name names the framework in test output.
	Name string
	// Serve starts a real HTTP server on 127.0.0.1 that serves routes
	// (GET) behind the adapter's session middleware built from m, stops it
	// with t.Cleanup, and returns its base URL ("http://127.0.0.1:port").
	// A store error must reach the framework's normal error path, which
	// answers 500 by default.
	Serve func(t *testing.T, m *core.Manager, routes []Route) string
	// Buffered is set for frameworks that buffer the whole response
	// (Fiber): a change made after the handler wrote its body is still
	// part of the one commit.
	Buffered bool
}

// Routes returns the kit's app. Paths:
//
//	/incr            add 1 to the int "n" and answer it
//	/read            answer "n" without modifying the session
//	/get?key=        answer the value of key, or "<absent>"
//	/set?key=&val=[&ttl=]  set a string (with a per-key TTL)
//	/keys            answer the sorted keys, comma-separated
//	/id              answer the session ID
//	/renew, /destroy, /remember?on=1|0
//	/flash/add?msg=, /flash/show
//	/bodyfirst       write the body, then set "late"=yes
//	/slowset?key=&val=&delay=   wait, then set
//	/fromctx         answer whether core.FromContext finds the same session
//	/noop            answer "ok" without touching the session
//	/logout-flash    destroy, then add a flash (a new session)
func Routes() []Route {
	return []Route{
		{"/incr", func(c Ctx) {
			s := c.Session()
			n, _ := core.GetAs[int](s, "n")
			n++
			s.Set("n", n)
			c.String(http.StatusOK, strconv.Itoa(n))
		}},
		{"/read", func(c Ctx) {
			n, _ := core.GetAs[int](c.Session(), "n")
			c.String(http.StatusOK, strconv.Itoa(n))
		}},
		{"/get", func(c Ctx) {
			v, ok := c.Session().Get(c.Query("key"))
			if !ok {
				c.String(http.StatusOK, "<absent>")
				return
			}
			c.String(http.StatusOK, fmt.Sprint(v))
		}},
		{"/set", func(c Ctx) {
			s := c.Session()
			if ttl := c.Query("ttl"); ttl != "" {
				d, _ := time.ParseDuration(ttl)
				s.SetWithTTL(c.Query("key"), c.Query("val"), d)
			} else {
				s.Set(c.Query("key"), c.Query("val"))
			}
			c.String(http.StatusOK, "ok")
		}},
		{"/keys", func(c Ctx) {
			c.String(http.StatusOK, strings.Join(c.Session().Keys(), ","))
		}},
		{"/id", func(c Ctx) {
			c.String(http.StatusOK, c.Session().ID())
		}},
		{"/renew", func(c Ctx) {
			c.Session().Renew()
			c.String(http.StatusOK, "ok")
		}},
		{"/destroy", func(c Ctx) {
			c.Session().Destroy()
			c.String(http.StatusOK, "ok")
		}},
		{"/remember", func(c Ctx) {
			c.Session().SetRemember(c.Query("on") == "1")
			c.String(http.StatusOK, "ok")
		}},
		{"/flash/add", func(c Ctx) {
			c.Session().AddFlash(c.Query("msg"))
			c.String(http.StatusOK, "ok")
		}},
		{"/flash/show", func(c Ctx) {
			var out []string
			for _, f := range c.Session().Flashes() {
				out = append(out, fmt.Sprint(f))
			}
			c.String(http.StatusOK, strings.Join(out, ","))
		}},
		{"/bodyfirst", func(c Ctx) {
			c.String(http.StatusOK, "body")
			c.Session().Set("late", "yes")
		}},
		{"/slowset", func(c Ctx) {
			s := c.Session()
			_ = s.Keys() // the session is loaded before the wait
			d, _ := time.ParseDuration(c.Query("delay"))
			time.Sleep(d)
			s.Set(c.Query("key"), c.Query("val"))
			c.String(http.StatusOK, "ok")
		}},
		{"/fromctx", func(c Ctx) {
			same := core.FromContext(c.Context()) == c.Session() && c.Session() != nil
			c.String(http.StatusOK, strconv.FormatBool(same))
		}},
		{"/noop", func(c Ctx) {
			c.String(http.StatusOK, "ok")
		}},
		{"/logout-flash", func(c Ctx) {
			s := c.Session()
			s.Destroy()
			s.AddFlash("bye")
			c.String(http.StatusOK, "ok")
		}},
	}
}
