// Package memstore is sessionkit's in-memory store: sessions kept in the
// process, in a sharded map, lost on restart and not shared between
// instances. It suits development, tests and single-instance apps, and it
// is the fastest store there is, since a load or save is a map operation
// under a shard lock.
//
//	store := memstore.New(memstore.WithMaxEntries(100_000))
//	defer store.Close()
//	m := core.NewManager(store)
//
// It implements every optional capability of [core.Store], judges expiry
// by its own clock ([WithClock]), and never modifies a record it has handed
// out (copy on write), so Load returns its own slice. Bound it with
// [WithMaxEntries] when anonymous clients can create sessions: see there
// for what it evicts first.
package memstore
