// Package cachedstore puts a bounded in-process cache in front of another
// [core.Store] (SQLite, Redis, Memcache, a remote server), so that most
// loads are served from memory while every write goes through to the
// backing store.
//
//	backing, err := sqlitestore.Open("sessions.db")
//	...
//	store := cachedstore.New(backing, cachedstore.WithMaxStale(time.Second))
//	defer store.Close() // closes backing too
//	m := core.NewManager(store)
//
// This process never serves a value it has itself overwritten or deleted.
// What another process wrote or deleted is seen at most [WithMaxStale] late
// (5 seconds by default): that window is the price of the cache in an app
// of several instances, and the reason to keep it short where a logout on
// one instance must end the session on every other at once. It passes
// every capability of the backing store through honestly and judges the
// cached copies' expiry by its own clock ([WithClock]).
package cachedstore
