// Package ginsession is the [Gin] middleware of sessionkit: it loads the
// request's session from a [core.Store] before the handlers and commits it
// as the response starts.
//
//	r := gin.New()
//	r.Use(ginsession.New(memstore.New()))
//	r.GET("/", func(c *gin.Context) {
//		s := ginsession.Get(c)
//		n, _ := core.GetAs[int](s, "visits")
//		s.Set("visits", n+1)
//		c.String(http.StatusOK, "%d visits", n+1)
//	})
//
// # Sessions and managers
//
// [New] builds a [core.Manager] from a store and options; [FromManager]
// reuses an existing one, so Gin, Echo and net/http apps can share one
// store and configuration. Every rule about sessions (IDs, timeouts,
// rolling expiry, delta saves, cookies) lives in package core; this
// package only adapts Gin's request and response.
//
// # Errors
//
// A failing store is added to the request with c.Error and answered with
// 500 Internal Server Error, written when the handler chain unwinds, so a
// middleware registered before this one can render its own error response
// from c.Errors. See [FromManager] for the details. Gin's own error
// handling applies: [core.WithErrorHandler] configures core's net/http
// middleware only.
//
// # Testing
//
// This package's tests run the behaviour matrix of
// [github.com/sessionkit/sessionkit/core/sessiontest] through Gin; store
// authors run the same matrix through core's net/http middleware
// ([sessiontest.NetHTTP]).
//
// [Gin]: https://gin-gonic.com
package ginsession
