package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// The user index (see [core.UserStore]) lives in the subdirectory .users
// of the store's directory: one directory per user key (64 hex digits),
// and in it one entry file per handle, named by the lowercase hex SHA-256
// of the handle, naming the session file of the handle's record:
//
//	.users/<user key>/<sha256(handle)>
//
// Entry file, version 1 (38 to 293 bytes):
//
//	[0:4]     magic "SKUX"
//	[4]       entry format version (1)
//	[5:37]    the session file's name (the SHA-256 of its key), raw
//	[37]      handle length h (1 to 255)
//	[38:38+h] handle
//
// A file that is not exactly that (another size, another name, a
// symlink, not a regular file) is no entry: it is skipped and removed by
// the next prune.
const (
	indexDirName    = ".users"
	userLockPrefix  = ".ulock-"
	entryMagic      = "SKUX"
	entryVersion    = 1
	entryFixed      = 38
	entryMaxHandle  = 255
	entryMaxSize    = entryFixed + entryMaxHandle
	entryFileOffset = 5

	// takenGrace is how long after a Take the entry of the taken record
	// is kept although its session file is missing: the Renew that took it
	// repoints the entry to its new key right after (see [Store.Take]).
	takenGrace = time.Minute

	// bindGen is the generation stamped into new bindings: the store keeps
	// no generations of its own, the index entry is what a carried Renew
	// needs.
	bindGen = 1
)

// indexEntry is a decoded entry file.
type indexEntry struct {
	file   string // the session file name, 64 hex digits
	handle string
}

// entryName returns the name of the entry file of handle.
func entryName(handle string) string {
	sum := sha256.Sum256([]byte(handle))
	return hex.EncodeToString(sum[:])
}

func encodeEntry(file, handle string) ([]byte, error) {
	raw, err := hex.DecodeString(file)
	if err != nil || len(raw) != sha256.Size {
		return nil, fmt.Errorf("bad session file name %q", file)
	}
	if len(handle) == 0 || len(handle) > entryMaxHandle {
		return nil, fmt.Errorf("handle of %d bytes", len(handle))
	}
	buf := make([]byte, 0, entryFixed+len(handle))
	buf = append(buf, entryMagic...)
	buf = append(buf, entryVersion)
	buf = append(buf, raw...)
	buf = append(buf, byte(len(handle)))
	return append(buf, handle...), nil
}

// decodeEntry decodes the entry file name holding buf; ok is false for
// anything but an entry written by encodeEntry under its own name.
func decodeEntry(name string, buf []byte) (indexEntry, bool) {
	if len(buf) < entryFixed+1 || string(buf[:4]) != entryMagic || buf[4] != entryVersion {
		return indexEntry{}, false
	}
	h := int(buf[entryFixed-1])
	if h == 0 || len(buf) != entryFixed+h {
		return indexEntry{}, false
	}
	handle := string(buf[entryFixed:])
	if entryName(handle) != name {
		return indexEntry{}, false
	}
	return indexEntry{file: hex.EncodeToString(buf[entryFileOffset : entryFileOffset+sha256.Size]), handle: handle}, true
}

// readEntry reads the entry file name in udir. ok is false when it does
// not exist or is no entry (a symlink, not a regular file, the wrong
// size, garbage), which is never followed, waited on or read beyond
// entryMaxSize; err reports other failures.
func readEntry(udir, name string) (e indexEntry, ok bool, err error) {
	fd, err := os.OpenFile(filepath.Join(udir, name), os.O_RDONLY|fileOpenFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isSymlinkErr(err) {
			return indexEntry{}, false, nil
		}
		return indexEntry{}, false, err
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return indexEntry{}, false, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > entryMaxSize {
		return indexEntry{}, false, nil
	}
	var buf [entryMaxSize + 1]byte
	n, err := io.ReadFull(fd, buf[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return indexEntry{}, false, err
	}
	e, ok = decodeEntry(name, buf[:n])
	return e, ok, nil
}

// checkIndexDir refuses an index directory that is a symlink, not a
// directory, or (on Unix) writable by group or others or owned by
// another user.
func checkIndexDir(p string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
		return fmt.Errorf("filestore: index directory %s is not a directory (mode %v)", p, fi.Mode())
	}
	return checkFileDir(p, fi)
}

// userDir checks the index directories of the user key uk and returns
// the path of the user's. When it does not exist, exists is false, or,
// with create, it is made (mode 0700, synced into its parent). The caller
// holds the user's lock when create is set.
func (s *Store) userDir(uk string, create bool) (udir string, exists bool, err error) {
	root := filepath.Join(s.dir, indexDirName)
	udir = filepath.Join(root, uk)
	for _, p := range []string{root, udir} {
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			if !create {
				return udir, false, nil
			}
			if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
				return udir, false, err
			}
			if err := syncPath(filepath.Dir(p)); err != nil {
				return udir, false, err
			}
			fi, err = os.Lstat(p)
		}
		if err != nil {
			return udir, false, err
		}
		if err := checkIndexDir(p, fi); err != nil {
			return udir, false, err
		}
	}
	return udir, true, nil
}

// syncPath syncs the directory p where the platform can.
func syncPath(p string) error {
	if !fileDirSync {
		return nil
	}
	d, err := os.Open(p)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// userShard returns the lock shard of the user key uk (64 hex digits).
func userShard(uk string) byte { return shardOf(uk) }

// lockUser takes the lock of the user key uk: the in-process mutex and
// the flock of its user shard (.ulock-00 … .ulock-ff). It is always taken
// before a session shard's lock, never while holding one, and never two
// at once, so the two kinds cannot deadlock.
func (s *Store) lockUser(uk string) error {
	i := userShard(uk)
	return s.lockShard(&s.ushards[i], fmt.Sprintf("%s%02x", userLockPrefix, i))
}

func (s *Store) unlockUser(uk string) { s.unlockShard(&s.ushards[userShard(uk)]) }

// checkUserKey refuses what [record.UserKey] cannot return.
func checkUserKey(op, uk string) error {
	if !isSessionName(uk) {
		return fileErr(op, fmt.Errorf("%q is not a user key", uk))
	}
	return nil
}

// boundFile reads the session file name and reports whether it holds a
// live record of a key hashing to name, bound to the user key uk under
// handle.
func (s *Store) boundFile(name, uk, handle string, now time.Time) (sessionFile, bool, error) {
	f, ok, err := s.read(name)
	if err != nil || !ok || !f.live(now) || !keyMatches(name, f.key) {
		return sessionFile{}, false, err
	}
	b, bound, err := record.FindBinding(f.data)
	if err != nil || !bound || b.Handle != handle || record.UserKey(b.User) != uk {
		return sessionFile{}, false, nil
	}
	return f, true, nil
}

// index files the record data about to be written to the session file
// name, bound as b, in the user index: the entry is written (if it does
// not name that file already) before the caller writes the record, and a
// new binding (Gen 0) gets its generation stamped into data. A create
// carrying a binding (Gen not 0) needs the entry to exist still; without
// one it fails with an error matching [core.ErrSessionGone]. The caller
// holds the user's lock and the session file's shard lock.
func (s *Store) index(name string, data []byte, b record.Binding, create bool) error {
	uk := record.UserKey(b.User)
	ename := entryName(b.Handle)
	udir, exists, err := s.userDir(uk, false)
	if err != nil {
		return err
	}
	var cur indexEntry
	var have bool
	if exists {
		if cur, have, err = readEntry(udir, ename); err != nil {
			return err
		}
	}
	if create && b.Gen != 0 && !have {
		return fmt.Errorf("the sessions of the user were destroyed meanwhile: %w", core.ErrSessionGone)
	}
	if b.Gen == 0 {
		if _, err := record.SetGen(data, bindGen); err != nil {
			return err
		}
	}
	if have && cur.file == name && cur.handle == b.Handle {
		return nil
	}
	buf, err := encodeEntry(name, b.Handle)
	if err != nil {
		return err
	}
	if !exists {
		if udir, _, err = s.userDir(uk, true); err != nil {
			return err
		}
	}
	return writeFile(udir, ename, buf, func() error { return syncPath(udir) })
}

// touchEntry marks the entry of the binding b as just taken, best effort,
// by setting its modification time to now: a prune keeps it for
// takenGrace, for the Renew that carries the binding on. It is called
// before the session file is removed and takes no user lock (a touch
// cannot bring back an entry a concurrent DeleteUserSessions removes).
func (s *Store) touchEntry(b record.Binding) {
	udir, exists, err := s.userDir(record.UserKey(b.User), false)
	if err != nil || !exists {
		return
	}
	p := filepath.Join(udir, entryName(b.Handle))
	fd, err := os.OpenFile(p, os.O_RDONLY|fileOpenFlags, 0)
	if err != nil {
		return
	}
	fi, err := fd.Stat()
	fd.Close()
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now)
}

// unindex removes the entry of the binding b if it names the session
// file name, after that file was removed (Delete, Cleanup). It takes the
// user's lock itself; the caller holds no shard lock.
func (s *Store) unindex(name string, b record.Binding) error {
	uk := record.UserKey(b.User)
	_, err := s.prune(uk, []string{entryName(b.Handle)}, name, false)
	return err
}

// prune removes, under the user's lock, those of the entry files names of
// the user key uk whose record is not live and bound to them (an entry
// that is no entry goes too). With only set, an entry is removed only if
// it names that session file. With grace, an entry whose modification
// time is less than takenGrace old is kept: its record may have been
// taken by a Renew in flight. It removes the user's directory when it is
// left empty, and reports how many entries it removed.
//
// Under the user's lock no bind of the user is in flight (a bind holds it
// from the entry's write to the record's), so an entry whose record is
// missing, unbound or bound to another is stale.
func (s *Store) prune(uk string, names []string, only string, grace bool) (int, error) {
	if err := s.lockUser(uk); err != nil {
		return 0, err
	}
	defer s.unlockUser(uk)
	udir, exists, err := s.userDir(uk, false)
	if err != nil || !exists {
		return 0, err
	}
	removed := 0
	var firstErr error
	note := func(err error) {
		if firstErr == nil && err != nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	for _, name := range names {
		e, ok, err := readEntry(udir, name)
		if err != nil {
			note(err)
			continue
		}
		if ok {
			if only != "" && e.file != only {
				continue
			}
			_, live, err := s.boundFile(e.file, uk, e.handle, time.Now())
			if err != nil || live {
				note(err)
				continue
			}
			// The modification time is read after the record was found
			// missing: Take touches the entry before it removes the
			// record.
			if grace && s.takenLately(udir, name) {
				continue
			}
		} else if only != "" {
			continue
		}
		if err := os.Remove(filepath.Join(udir, name)); err != nil {
			note(err)
			continue
		}
		removed++
	}
	if removed > 0 {
		note(syncPath(udir))
		s.removeUserDir(udir)
	}
	return removed, firstErr
}

// removeUserDir removes the user directory udir if it is empty (best
// effort: a directory left behind costs nothing). The caller holds the
// user's lock.
func (s *Store) removeUserDir(udir string) {
	if os.Remove(udir) == nil {
		_ = syncPath(filepath.Dir(udir))
	}
}

// UserSessions returns the live records bound to the user whose user key
// is userKey. It reads the user's entry files and the session file each
// names, without a lock, and checks each record's binding; entries whose
// record is missing, expired or not bound to them are skipped and then
// pruned under the user's lock (those of a record taken less than a minute
// ago are kept for the Renew in flight). The slices returned are the
// caller's own.
func (s *Store) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	const op = "user sessions"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	defer s.end()
	if err := checkUserKey(op, userKey); err != nil {
		return nil, err
	}
	udir, exists, err := s.userDir(userKey, false)
	if err != nil {
		return nil, fileErr(op, err)
	}
	if !exists {
		return nil, nil
	}
	var out []core.UserRecord
	var stale []string
	err = s.scanDir(ctx, udir, func(de fs.DirEntry) (bool, error) {
		name := de.Name()
		if !isSessionName(name) {
			return true, nil
		}
		e, ok, err := readEntry(udir, name)
		if err != nil {
			return false, err
		}
		if !ok {
			stale = append(stale, name)
			return true, nil
		}
		f, live, err := s.boundFile(e.file, userKey, e.handle, time.Now())
		if err != nil {
			return false, err
		}
		if !live {
			stale = append(stale, name)
			return true, nil
		}
		out = append(out, core.UserRecord{Key: string(f.key), Data: f.data})
		return true, nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		// The directory was removed by a prune meanwhile: nothing left.
		return out, nil
	}
	if err != nil {
		return nil, fileErr(op, err)
	}
	if len(stale) > 0 {
		// Best effort: the listing is right without it, and Cleanup
		// reports what keeps failing.
		_, _ = s.prune(userKey, stale, "", true)
	}
	return out, nil
}

// DeleteUserSessions deletes the live records bound to the user whose
// user key is userKey and whose handles match accepts, and their entries.
// It holds the user's lock throughout, so no bind of the user and no
// Renew carrying one of the user's bindings runs meanwhile. It reads the
// user's entries, removes each matching entry's session file (checked
// against its binding, under its shard lock), syncs the store directory
// once, and then removes the entries and syncs the user's directory. An
// entry of a record taken by a Renew in flight goes too, so that Renew
// fails with [core.ErrSessionGone]; its handle is among those returned
// when the store can tell, that is when the record was taken less than a
// minute ago (its entry was touched then) and the session file the entry
// names is missing. On an error the handles deleted so far are returned
// with it (their entries, left behind, are stale).
func (s *Store) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	const op = "delete user sessions"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	defer s.end()
	if err := checkUserKey(op, userKey); err != nil {
		return nil, err
	}
	if match == nil {
		return nil, fileErr(op, errors.New("nil match"))
	}
	if err := s.lockUser(userKey); err != nil {
		return nil, fileErr(op, err)
	}
	defer s.unlockUser(userKey)
	udir, exists, err := s.userDir(userKey, false)
	if err != nil {
		return nil, fileErr(op, err)
	}
	if !exists {
		return nil, nil
	}
	type doomed struct {
		name string // the entry file
		e    indexEntry
	}
	var ds []doomed
	err = s.scanDir(ctx, udir, func(de fs.DirEntry) (bool, error) {
		name := de.Name()
		if !isSessionName(name) {
			return true, nil
		}
		e, ok, err := readEntry(udir, name)
		if err == nil && ok && match(e.handle) {
			ds = append(ds, doomed{name, e})
		}
		return err == nil, err
	})
	if err != nil {
		return nil, fileErr(op, err)
	}
	var handles []string
	removed := false
	for _, d := range ds {
		deleted, missing, err := s.deleteBound(d.e, userKey)
		if err != nil {
			return handles, fileErr(op, err)
		}
		removed = removed || deleted
		if deleted || missing && s.takenLately(udir, d.name) {
			handles = append(handles, d.e.handle)
		}
	}
	if removed {
		if err := s.syncDir(); err != nil {
			return handles, fileErr(op, err)
		}
	}
	for _, d := range ds {
		if err := os.Remove(filepath.Join(udir, d.name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return handles, fileErr(op, err)
		}
	}
	if len(ds) > 0 {
		if err := syncPath(udir); err != nil {
			return handles, fileErr(op, err)
		}
		s.removeUserDir(udir)
	}
	return handles, nil
}

// deleteBound removes the session file e names, under its shard lock, if
// it holds a live record bound to the user key uk under e's handle, and
// otherwise reports whether the file is missing. The caller syncs the
// directory.
func (s *Store) deleteBound(e indexEntry, uk string) (deleted, missing bool, err error) {
	shard := shardOf(e.file)
	if err := s.lock(shard); err != nil {
		return false, false, err
	}
	defer s.unlock(shard)
	p := filepath.Join(s.dir, e.file)
	_, live, err := s.boundFile(e.file, uk, e.handle, time.Now())
	if err != nil {
		return false, false, err
	}
	if !live {
		_, err := os.Lstat(p)
		return false, errors.Is(err, fs.ErrNotExist), nil
	}
	err = os.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, true, nil
	}
	return err == nil, false, err
}

// takenLately reports whether the entry file name in udir was touched by
// a Take less than takenGrace ago (or written that recently): with its
// session file missing, it is a device caught mid-Renew, logged out by the
// removal of the entry. The caller holds the user's lock and has found
// the session file missing first (Take touches the entry before it
// removes the file).
func (s *Store) takenLately(udir, name string) bool {
	fi, err := os.Lstat(filepath.Join(udir, name))
	return err == nil && time.Since(fi.ModTime()) < takenGrace
}

// sweepIndex prunes every user directory: entries whose record is gone
// (with the grace for taken records unless all), entries that are no
// entries, temp files older than fileStaleTemp (a younger one may be an
// entry being written) and empty directories. Each user's entries are
// checked again under the user's lock.
func (s *Store) sweepIndex(ctx context.Context, all bool) error {
	root := filepath.Join(s.dir, indexDirName)
	fi, err := os.Lstat(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := checkIndexDir(root, fi); err != nil {
		return err
	}
	var firstErr error
	note := func(err error) {
		if firstErr == nil && err != nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	err = s.scanDir(ctx, root, func(de fs.DirEntry) (bool, error) {
		if s.closed.Load() {
			return false, core.ErrClosed
		}
		uk := de.Name()
		if !isSessionName(uk) || !de.IsDir() {
			return true, nil
		}
		udir, exists, err := s.userDir(uk, false)
		if err != nil || !exists {
			note(err)
			return true, nil
		}
		var stale []string
		files := 0
		now := time.Now()
		err = s.scanDir(ctx, udir, func(de fs.DirEntry) (bool, error) {
			name := de.Name()
			files++
			if strings.HasPrefix(name, fileTempPrefix) {
				if info, err := de.Info(); err == nil && now.Sub(info.ModTime()) > fileStaleTemp {
					if err := os.Remove(filepath.Join(udir, name)); err == nil {
						files--
					} else {
						note(err)
					}
				}
				return true, nil
			}
			if !isSessionName(name) {
				return true, nil
			}
			if all {
				stale = append(stale, name)
				return true, nil
			}
			e, ok, err := readEntry(udir, name)
			if err != nil {
				note(err)
				return true, nil
			}
			if ok {
				if _, live, err := s.boundFile(e.file, uk, e.handle, now); err != nil || live {
					note(err)
					return true, nil
				}
			}
			stale = append(stale, name)
			return true, nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		if len(stale) > 0 {
			_, err = s.prune(uk, stale, "", !all)
			note(err)
		} else if files == 0 {
			// A directory holding nothing (its last entry pruned by a
			// crashed process, say) goes too.
			if err := s.lockUser(uk); err != nil {
				return false, err
			}
			s.removeUserDir(udir)
			s.unlockUser(uk)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	return firstErr
}
