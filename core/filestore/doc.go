// Package filestore is sessionkit's file store: one file per session in a
// directory of the app's own, so that sessions survive restarts of a
// single-instance app (or of several processes sharing the directory on
// one machine) without a database.
//
//	store, err := filestore.New("/var/lib/myapp/sessions")
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer store.Close()
//	m := core.NewManager(store)
//
// Its directory is trusted with the sessions, so [New] refuses one that
// others could write to, and the store never follows a symlink, waits on
// a FIFO or reads more than its size limit from whatever it finds there.
// Writes are atomic (temp file, sync, rename) and serialized per key across
// processes by flock(2) where the system has it. It implements every
// optional capability of [core.Store] and judges expiry by its own clock
// (the system's).
package filestore
