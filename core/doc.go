// Package core is sessionkit's framework-agnostic session machinery:
// server-side HTTP sessions kept in a [Store], loaded and committed by a
// [Manager], used by handlers through a [Session]. The Gin, Echo and Fiber
// middleware modules are thin adapters over the same Manager; net/http
// apps (the standard mux, chi) use [Manager.Handler] directly.
//
//	store := core.NewMemoryStore()
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
// manager's clock on load, so expiry is exact on every store.
//
// # Stores
//
// [Store] is the three-method contract a backend implements; optional
// capabilities ([DeltaStore], [TouchStore], [TTLStore], [IterStore],
// [CountStore], [ClearStore], [CleanupStore]) are found by type assertion,
// and helpers such as [SaveDelta] and [Touch] fall back when they are
// missing. This package has [NewMemoryStore], [NewFileStore] and
// [NewCachedStore]; SQLite, Redis and Memcache stores are modules of their
// own, and the stores module opens any of them from a configuration or a
// URL. The conformance kit core/storetest checks a store against the
// contract.
//
// # Errors
//
// A failing store is an error the app sees — by default a 500 from
// [Manager.Handler], see [WithErrorHandler] — never a silent fresh session
// that logs the user out. A value the codec cannot encode and a record
// over [WithMaxSize] are errors at commit, and nothing is half-written.
package core
