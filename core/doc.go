// Package core is sessionkit's framework-agnostic session machinery:
// server-side HTTP sessions kept in a [Store], loaded and committed by a
// [Manager], used by handlers through a [Session]. The Gin, Echo and Fiber
// middleware modules are thin adapters over the same Manager; net/http
// apps (the standard mux, chi) use [Manager.Handler] directly.
//
//	store := memstore.New()
//	defer store.Close()
//	m := core.NewManager(store, core.WithIdleTimeout(30*time.Minute))
//	http.ListenAndServe(addr, m.Handler(mux))
//
// and in a handler:
//
//	s := core.FromContext(r.Context())
//	n, _ := core.GetAs[int](s, "visits")
//	s.Set("visits", n+1)
//
// # Sessions
//
// A session ID is 256 bits from crypto/rand in unpadded base64url (43
// characters). A client-supplied ID that is malformed, unknown or expired
// is never adopted: the request gets a fresh, empty session, and no record
// is written unless the handler puts something in it. Stores never see the
// raw ID, only its SHA-256 ([StoreKey]).
//
// Changes are kept in memory and saved as a delta when the response
// headers are about to be written: two requests of one session that change
// different keys both keep their changes, the same key is last-writer-wins,
// and a save for a session deleted meanwhile (logout in another tab) is
// dropped rather than resurrecting it. A request that changes nothing
// writes nothing, except that rolling expiry moves the deadline at most
// once per touch interval.
//
// # Timeouts
//
// Every session has an idle timeout ([WithIdleTimeout], default 1 h) that
// slides with use, and an absolute lifetime ([WithLifetime], default 24 h)
// from creation that nothing extends. [Session.SetRemember] switches a
// session to the remember timeout ([WithRememberTimeout], default 30 days)
// and a persistent cookie. [Session.SetWithTTL] gives one key its own
// timeout. Deadlines are kept in the record and checked with the
// manager's clock on load, so expiry is exact on every store (each store
// also judges a record's expiry by its own clock, and never returns one
// whose deadline passed).
//
// # Users and devices
//
// [Session.SetUser] binds a session to a user at login (together with
// [Session.Renew]); the binding survives Renew and Clear and goes with
// Destroy and expiry. Each bound session has a [Session.Handle], a stable
// name that is safe to render and useless as a credential.
// [Manager.UserSessions] lists a user's live sessions (an "active devices"
// page), [Manager.DestroyUserSessions] logs a user out everywhere or on
// every other device, and [Manager.DestroySession] revokes one device:
//
//	s.SetUser(userID) // at login
//	s.Renew()
//	...
//	n, err := m.DestroyUserSessions(ctx, userID, s.Handle()) // log out other devices
//
// Once DestroyUserSessions returns, no request can read a destroyed
// session's data, and a request in flight on one cannot bring it back.
// Stores keep a user index for this ([UserStore]; every store of this
// project has one, and each store's doc says what its backend adds); a
// store without one gets a scan with [IterStore].
//
// # Events
//
// [WithEvents] reports sessions created, renewed, destroyed (by the
// session, a user-wide destroy or a device revoke), bound to a user and,
// best effort, expired, synchronously after the store write succeeded.
//
// # Stores
//
// [Store] is the three-method contract a backend implements; the optional
// capabilities ([DeltaStore], [TakeStore], [TouchStore], [TTLStore],
// [IterStore], [CountStore], [ClearStore], [CleanupStore], [UserStore],
// io.Closer) are
// found by type assertion, and the manager falls back to the three methods
// where one is missing (best effort: see [Store]). Core names no concrete
// store. The local stores are packages of this module: core/memstore,
// core/filestore and core/cachedstore (a cache in front of any store);
// SQLite, PostgreSQL, MySQL, Redis and Memcache stores are modules of their own, and the
// stores module opens any of them from a configuration or a URL. Store
// authors find the record layout and the delta rules in core/record and
// check their store with the conformance kit core/storetest.
//
// # Writing an adapter
//
// An adapter for a framework other than net/http, Gin, Echo and Fiber
// (whose adapters are modules of this project) does per request what
// [Manager.Handler] does, with the framework's own types:
//
//  1. If [Manager.FromContext] already finds this manager's session in the
//     request's context, the middleware is mounted twice (on a router and
//     on a group): call the next handler and do nothing else, so that the
//     outer one loads and commits once.
//  2. Read the token: [Manager.Token] from an *http.Request, or
//     [Manager.TokenFrom] with the values of the request header lines named
//     [Manager.TokenHeader] ("Cookie", or the [WithHeaderToken] header).
//  3. [Manager.LoadContext] the session: it returns the session and a
//     child of the request's context that carries it (so that
//     [FromContext] works), in one allocation. An error means the store
//     failed: answer 500 (or take the framework's error path), never a
//     fresh session.
//  4. Put the context where handlers find it (the request's context, or
//     the framework's own), with the framework's own accessor besides.
//  5. Right before the response headers are written, [Manager.Commit] the
//     session and send what the [CommitResult] says: [Manager.WriteHeaders]
//     does it for any header type with Get, Set and Add ([Header]). After
//     the body has started, commit again only if [Session.Modified]; an
//     error then wraps [ErrHeadersWritten].
//
// Nothing of the rules of sessions belongs in an adapter: the manager
// decides what to write, what to send and when. The core/sessiontest kit
// runs the behaviour matrix every adapter of this project passes against a
// new adapter.
//
// # Errors
//
// A failing store is an error the app sees — by default a 500 from
// [Manager.Handler], see [WithErrorHandler] — never a silent fresh session
// that logs the user out. A value the codec cannot encode and a record
// over [WithMaxSize] are errors at commit, and nothing is half-written.
package core
