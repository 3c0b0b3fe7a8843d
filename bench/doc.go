// Package bench measures sessionkit beside the session libraries a Go
// developer would otherwise pick — alexedwards/scs, gin-contrib/sessions,
// echo-contrib/session and Fiber's session middleware — each beside its bare
// framework, on one scenario: a returning user's request reads the session
// cookie, loads the session, increments an integer counter in it, saves it
// and answers with the counter.
//
// # Apps
//
// [Apps] lists every measured application. Each one serves GET / on its
// framework (net/http's ServeMux, Gin, Echo v4 and v5, Fiber v2 and v3)
// with one session library and store, or with none (the bare framework).
// Echo v5 has no peer: no echo-contrib module for it is served. The benchmarks of
// this package drive the apps in-process; cmd/server serves one of them on
// a loopback address for wrk. Both seed sessions the same way, by sending
// requests without a cookie through the app and keeping the cookies it
// sets (see [Instance.Seed]), so every library's sessions are made by its
// own code.
//
// # Running
//
// bench/run.sh runs everything (in-process benchmarks summarised with
// benchstat, then wrk over loopback against cmd/server, one app at a time)
// and writes RESULTS.md. Apps that use Redis read its address from
// SESSIONKIT_REDIS_ADDR; run.sh starts a throwaway redis-server of its own,
// and scripts/test.sh provides one for the smoke run.
//
// cmd/calibrate serves a bare net/http or Fiber app that burns a given CPU
// time and allocates a given number of bytes per request, and with -floor
// also does the least work a server-side session with hashed IDs can do,
// in memory or (-redis) in two round trips to Redis: loaded by wrk beside
// cmd/server's apps, it shows what ratio over loopback a session layer of
// that cost could keep on the machine at hand. cmd/server prints its
// go-redis pool's statistics when it stops.
package bench
