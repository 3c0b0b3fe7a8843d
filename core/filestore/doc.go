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
//
// # Log out everywhere
//
// The store keeps a user index for [core.Manager.UserSessions],
// [core.Manager.DestroyUserSessions] and [core.Manager.DestroySession]
// (see [core.UserStore]) in the subdirectory .users: per user, a directory
// named by the hashed user ID ([record.UserKey]; the ID itself is only in
// the session files), holding one small entry file per session handle.
// Entries are written before the session file they name and removed after
// it, under a per-user lock shared by every process using the directory,
// so the index covers every live bound session, also after a crash; an
// entry whose session is gone is checked against the session file on
// read, skipped and pruned. What it costs, in file operations:
//
//   - binding a session (the login's commit): the entry's write, that is
//     one more temp file, fsync and rename, and an fsync of the user's
//     directory (the first session of a user also creates the directory
//     and syncs its parent); Renew of a bound session: the same, plus a
//     timestamp update of the entry when the old record is taken;
//   - ordinary loads and saves of a bound session: nothing more;
//   - Delete (logout): a read of the session file before it goes, and for
//     a bound one the entry's removal and an fsync of the user's directory;
//   - UserSessions: a directory read and, per entry, a read of the entry
//     and of its session file;
//   - DestroyUserSessions: the same under the user's lock, plus the
//     removal of each session file and entry, one fsync of the store
//     directory and one of the user's directory, however many sessions.
//
// Once DestroyUserSessions returns, no Load returns a destroyed session,
// and no request in flight brings one back: its delta save finds the file
// gone, and its Renew finds the entry gone and fails with an error
// matching [core.ErrSessionGone]. A device caught mid-Renew (its old
// record taken, the new one not yet written) is logged out that way and
// counted, as the store tells it by the entry's modification time, which
// Take sets. On platforms without flock (see [Store]) all this holds
// within one process only.
package filestore
