// Package sessiontest is sessionkit's shared behaviour matrix: one set of
// end-to-end tests that every middleware (net/http, Gin, Echo, Fiber) runs
// through a real HTTP server on 127.0.0.1 and a client with a cookie jar,
// so the adapters cannot drift apart.
//
// An adapter provides a [Harness]: a function that serves the kit's
// [Route]s behind its session middleware. [Run] then checks every
// semantic of DESIGN.md against it, with any store.
package sessiontest
