// Package echosession is the [Echo] v5 middleware of sessionkit
// (module github.com/sessionkit/sessionkit/echosession/v5; Echo v4 apps
// use github.com/sessionkit/sessionkit/echosession, with the same API):
// it loads the request's session from a [core.Store] before the handler
// and commits it as the response starts.
//
//	e := echo.New()
//	e.Use(echosession.New(memstore.New()))
//	e.GET("/", func(c *echo.Context) error {
//		s := echosession.Get(c)
//		n, _ := core.GetAs[int](s, "visits")
//		s.Set("visits", n+1)
//		return c.String(http.StatusOK, fmt.Sprintf("%d visits", n+1))
//	})
//
// # Sessions and managers
//
// [New] builds a [core.Manager] from a store and options; [FromManager]
// reuses an existing one, so Echo, Gin, Fiber and net/http apps can share
// one store and configuration. Every rule about sessions (IDs, timeouts,
// rolling expiry, delta saves, cookies) lives in package core; this
// package only adapts Echo's request and response.
//
// # Response
//
// Echo v5's c.Response() is an http.ResponseWriter: the middleware puts a
// writer of its own in front of it with c.SetResponse for the handlers
// below, and that writer's Unwrap leads to the *echo.Response, so
// echo.UnwrapResponse and http.ResponseController still work from a
// handler. The middleware puts the original writer back when the handler
// returns.
//
// # Errors
//
// A failing store is an error returned to Echo's HTTPErrorHandler (500
// Internal Server Error by default); errors.Is finds the store's error in
// it. See [FromManager] for the details. Echo's own error handling
// applies: [core.WithErrorHandler] configures core's net/http middleware
// only. Store calls are bounded by the request's context.
//
// # Testing
//
// This package's tests run the behaviour matrix of
// [github.com/sessionkit/sessionkit/core/sessiontest] through Echo v5;
// store authors run the same matrix through core's net/http middleware
// ([sessiontest.NetHTTP]).
//
// [Echo]: https://echo.labstack.com
package echosession
