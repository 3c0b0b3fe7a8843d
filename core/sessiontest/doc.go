// Package sessiontest is sessionkit's behaviour matrix for session
// middleware: one set of end-to-end tests that every adapter (net/http,
// Gin, Echo, Fiber, or one you write for another framework) runs through
// a real HTTP server on 127.0.0.1 and a client with a cookie jar, so that
// adapters cannot drift apart. It is to adapters what [testing/slogtest]
// is to slog handlers; store authors use it too, to check their store end
// to end behind a middleware.
//
// # Running the matrix
//
// An adapter's test provides a [Harness]: a function that starts a server
// with the adapter's middleware built from a *core.Manager and serves the
// kit's [Route]s, each through a [Ctx] that the adapter implements over its
// framework's own request context. [Run] then checks every rule of the
// session semantics against it, with the stores the test supplies:
//
//	func TestMatrix(t *testing.T) {
//		sessiontest.Run(t, myHarness(), func(t *testing.T) core.Store {
//			s := memstore.New()
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// [NetHTTP] is the harness of core's own middleware; a store author runs
// the matrix through it. Besides [Run], the kit has [CheckNoRawID] (no raw
// session ID reaches the store), [CheckTooLarge] (the size limit),
// [FaultStore] (a store wrapper that fails or delays on demand) and
// [Clock] (an injectable clock).
//
// The kit uses only the standard library and core, so running it adds
// nothing to a module's dependencies.
package sessiontest
