package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// Defaults of the file store.
const (
	// DefaultCleanupInterval is how often a [Store] removes expired
	// records in the background unless [WithCleanupInterval] says
	// otherwise.
	DefaultCleanupInterval = 5 * time.Minute
	// DefaultMaxSize is the largest record, in bytes, a [Store]
	// accepts unless [WithMaxRecordSize] says otherwise: 4 MiB.
	DefaultMaxSize = 4 << 20
)

// File layout, version 1. The session file of a key is named by the
// lowercase hex SHA-256 of the key, so no key can name a path outside the
// directory; the key itself is kept in the file for Iterate.
//
//	[0:4]    magic "SKFS"
//	[4]      file format version (1)
//	[5:13]   expiry, Unix nanoseconds, big-endian (0: none)
//	[13:17]  key length n, big-endian
//	[17:17+n] key
//	[17+n:]  the record data
const (
	fileMagic      = "SKFS"
	fileVersion    = 1
	fileHeaderSize = 17

	// fileMaxKey is the longest key the store accepts, so that a read of
	// any session file is bounded by the header, this and the size limit.
	fileMaxKey = 64 << 10

	fileTempPrefix = ".tmp-"
	fileLockPrefix = ".lock-"
	// fileStaleTemp is the age after which Cleanup treats a temp file as
	// left behind by a crashed writer.
	fileStaleTemp = time.Minute
)

// Store is a [core.Store] that keeps one file per session in a directory.
// It implements every optional capability: [core.DeltaStore],
// [core.TakeStore], [core.TouchStore], [core.TTLStore], [core.IterStore],
// [core.CountStore], [core.ClearStore], [core.CleanupStore],
// [core.UserStore] and [io.Closer].
//
// Every write goes to a temp file in the directory, which is synced and
// renamed over the session file, and the directory is then synced, so a
// crash leaves either the old or the new record, never a torn one. Files
// are created with mode 0600.
//
// Writes of one key (Save, SaveDelta, Touch, Delete) are serialized by an
// in-process mutex and, on Unix systems with flock(2), by an exclusive
// flock on one of 256 shard lock files (.lock-00 … .lock-ff, never
// deleted), so several processes may share the directory and delta saves
// stay atomic across them. Plain Save and Delete take the lock too,
// although a rename alone is atomic: without it, a delta save that read the
// record before a concurrent Save or Delete would write its result after
// it, silently dropping the Save or recreating the deleted session. Loads
// take no lock: a reader sees either the old or the new file. On platforms
// without flock (Windows, Solaris, AIX, …) the locking is in-process only:
// there, share a directory between processes only if they never write the
// same session nor bind sessions of the same user. On Windows, moreover, a
// write that replaces a file another goroutine is reading at that instant
// fails with an access error, which the caller sees as a store error; the
// store is meant for Unix servers and only kept working on Windows for
// development.
//
// The user index ([core.UserStore]) is kept in files too, in the
// subdirectory .users: one directory per user key, one small entry file
// per handle naming the session file of the handle's record. Entries are
// written like session files (temp file, sync, rename, sync), under a
// per-user lock (an in-process mutex and a flock on one of 256 more lock
// files, .ulock-00 … .ulock-ff) that is taken before the session file's
// lock whenever both are held:
//
//   - A write that binds a record (Save of a bound record, a delta that
//     sets the binding) holds the user's lock and the key's and writes the
//     entry before the session file, stamping a generation into a new
//     binding. A create carrying a binding (Renew) is written only while
//     the entry exists, and repoints it to the new key; otherwise it fails
//     with an error matching [core.ErrSessionGone] and writes nothing.
//   - [Store.DeleteUserSessions] holds the user's lock throughout, so no
//     bind or Renew of the user runs meanwhile; it removes each session
//     file, checked against its binding, before the entry.
//   - Delete reads the file it removes (one more read) and removes the
//     entry of a bound record after it; Cleanup does the same for the
//     records it removes. An entry left behind (a crash, an unbinding
//     delta, a rebind to another user) is stale: skipped by
//     [Store.UserSessions] and pruned by it and by Cleanup, under the
//     user's lock, where no bind of that user can be in flight. The entry
//     of a record just taken ([Store.Take] sets the entry's modification
//     time) is kept for a minute, for the Renew that carries it on.
//
// Index files are read with the hardening of session files: no symlink
// is followed, nothing but a regular file of an entry's size is read, and
// an index directory that is a symlink, writable by group or others or
// owned by another user is refused with an error.
//
// Do not delete or edit the files in the directory while stores use it;
// Clear and Cleanup are the ways to remove sessions.
//
// A Store is safe for concurrent use by multiple goroutines.
type Store struct {
	dir     string
	dirFile *os.File // kept open to sync the directory; nil where unsupported
	maxSize int

	shards  [256]fileShard // session file locks, by the first byte of the file name
	ushards [256]fileShard // user index locks, by the first byte of the user key

	mu     sync.Mutex // guards closed and active.Add
	closed atomic.Bool
	active sync.WaitGroup // operations in flight, waited for by Close

	stop        chan struct{}
	sweepDone   chan struct{}
	sweepCtx    context.Context
	sweepCancel context.CancelFunc
}

// fileShard serializes the writers of the keys whose hash starts with one
// byte: mu within the process, a flock on f across processes.
type fileShard struct {
	mu sync.Mutex
	f  *os.File // lock file, opened on first use; guarded by mu
}

var (
	_ core.DeltaStore   = (*Store)(nil)
	_ core.TakeStore    = (*Store)(nil)
	_ core.TouchStore   = (*Store)(nil)
	_ core.TTLStore     = (*Store)(nil)
	_ core.IterStore    = (*Store)(nil)
	_ core.CountStore   = (*Store)(nil)
	_ core.ClearStore   = (*Store)(nil)
	_ core.CleanupStore = (*Store)(nil)
	_ core.UserStore    = (*Store)(nil)
	_ io.Closer         = (*Store)(nil)
)

// Option configures a [Store]; pass options to [New].
type Option func(*config)

type config struct {
	interval time.Duration
	maxSize  int
}

// WithCleanupInterval sets how often the store removes expired records,
// unparsable session files and stale temp files in the background. Zero
// disables the background sweeper (call Cleanup yourself); a negative value
// makes [New] fail. Default: [DefaultCleanupInterval] (5
// minutes).
func WithCleanupInterval(d time.Duration) Option {
	return func(c *config) { c.interval = d }
}

// WithMaxRecordSize sets the largest record, in bytes, the store accepts;
// larger ones are refused with an error wrapping [core.ErrTooLarge]. A value
// below 1 makes [New] fail. Default: [DefaultMaxSize] (4 MiB).
//
// The limit also bounds every read: a file larger than the limit plus its
// header is never read, only treated as corrupt. A store reopened with a
// smaller limit therefore reports the sessions written under the larger
// one that exceed it as not found (their users start afresh), and Cleanup
// removes them.
func WithMaxRecordSize(n int) Option {
	return func(c *config) { c.maxSize = n }
}

// New returns a store keeping its sessions in dir. The directory
// is created with mode 0700 (and its missing parents too) when it does not
// exist. On Unix systems an existing directory writable by group or others,
// or owned by another user, is refused: anyone who can write there could
// plant or replace sessions. It is an error when dir is
// empty or names something other than a directory, or when an option is
// invalid.
//
// The store starts a background sweeper (see [WithCleanupInterval]);
// call Close to stop it.
func New(dir string, opts ...Option) (*Store, error) {
	cfg := config{interval: DefaultCleanupInterval, maxSize: DefaultMaxSize}
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("filestore: New: nil Option")
		}
		o(&cfg)
	}
	if cfg.interval < 0 {
		return nil, fmt.Errorf("filestore: WithCleanupInterval(%v): must not be negative", cfg.interval)
	}
	if cfg.maxSize < 1 {
		return nil, fmt.Errorf("filestore: WithMaxRecordSize(%d): must be positive", cfg.maxSize)
	}
	if dir == "" {
		return nil, errors.New("filestore: empty directory name")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	switch fi, err := os.Stat(abs); {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("filestore: %s is not a directory", abs)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(abs, 0o700); err != nil {
			return nil, fmt.Errorf("filestore: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("filestore: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	if err := checkFileDir(abs, fi); err != nil {
		return nil, err
	}

	s := &Store{
		dir:       abs,
		maxSize:   cfg.maxSize,
		stop:      make(chan struct{}),
		sweepDone: make(chan struct{}),
	}
	if fileDirSync {
		if s.dirFile, err = os.Open(abs); err != nil {
			return nil, fmt.Errorf("filestore: %w", err)
		}
	}
	s.sweepCtx, s.sweepCancel = context.WithCancel(context.Background())
	if cfg.interval > 0 {
		go s.sweep(cfg.interval)
	} else {
		close(s.sweepDone)
	}
	return s, nil
}

// Dir returns the absolute path of the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) sweep(every time.Duration) {
	defer close(s.sweepDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// Errors are retried at the next tick; Cleanup reports them to
			// callers who run it themselves.
			_, _ = s.Cleanup(s.sweepCtx)
		}
	}
}

// Close stops the background sweeper, waits for the operations in flight
// and releases the lock files. Later calls of every method return an error
// wrapping [core.ErrClosed]; closing twice is a no-op returning nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return nil
	}
	s.closed.Store(true)
	s.mu.Unlock()

	s.sweepCancel()
	close(s.stop)
	<-s.sweepDone
	s.active.Wait()

	var errs []error
	for _, shards := range []*[256]fileShard{&s.shards, &s.ushards} {
		for i := range shards {
			if f := shards[i].f; f != nil {
				errs = append(errs, f.Close())
				shards[i].f = nil
			}
		}
	}
	if s.dirFile != nil {
		errs = append(errs, s.dirFile.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("filestore: close: %w", err)
	}
	return nil
}

// begin registers an operation, failing when ctx is done or the store is
// closed. Every successful begin is paired with end.
func (s *Store) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("filestore: %s: %w", op, err)
	}
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return fmt.Errorf("filestore: %s: %w", op, core.ErrClosed)
	}
	s.active.Add(1)
	s.mu.Unlock()
	return nil
}

func (s *Store) end() { s.active.Done() }

func fileErr(op string, err error) error {
	return fmt.Errorf("filestore: %s: %w", op, err)
}

// fileName returns the name of the session file of key and the index of
// its lock shard.
func fileName(key string) (string, byte) {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]), sum[0]
}

// isSessionName reports whether name is a session file name: 64 lowercase
// hex digits.
func isSessionName(name string) bool {
	if len(name) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// shardOf returns the lock shard of a session file name.
func shardOf(name string) byte {
	var b [1]byte
	_, _ = hex.Decode(b[:], []byte(name[:2]))
	return b[0]
}

// keyMatches reports whether key hashes to the session file name.
func keyMatches(name string, key []byte) bool {
	sum := sha256.Sum256(key)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:]) == name
}

// sessionFile is a parsed session file; key and data alias buf.
type sessionFile struct {
	buf    []byte
	expiry time.Time
	key    []byte
	data   []byte
}

func parseSessionFile(buf []byte) (sessionFile, bool) {
	if len(buf) < fileHeaderSize || string(buf[:4]) != fileMagic || buf[4] != fileVersion {
		return sessionFile{}, false
	}
	n := uint64(binary.BigEndian.Uint32(buf[13:17]))
	if n > uint64(len(buf)-fileHeaderSize) {
		return sessionFile{}, false
	}
	end := fileHeaderSize + int(n)
	return sessionFile{
		buf:    buf,
		expiry: getTime(buf[5:13]),
		key:    buf[fileHeaderSize:end],
		data:   buf[end:],
	}, true
}

// live reports whether the file's own expiry and its record's header
// expiry are both after now.
func (f *sessionFile) live(now time.Time) bool {
	return (f.expiry.IsZero() || f.expiry.After(now)) && record.Live(f.data, now)
}

func encodeSessionFile(key string, expiry time.Time, data []byte) []byte {
	buf := make([]byte, fileHeaderSize, fileHeaderSize+len(key)+len(data))
	copy(buf, fileMagic)
	buf[4] = fileVersion
	putTime(buf[5:13], expiry)
	binary.BigEndian.PutUint32(buf[13:17], uint32(len(key)))
	buf = append(buf, key...)
	return append(buf, data...)
}

// read reads the session file name. ok is false when the file does not
// exist or cannot be parsed, and also when it is a symlink, not a regular
// file, or larger than any file the store writes: such a file is treated
// as corrupt (Cleanup removes the entry itself), never followed, waited on
// or read beyond the bound. err reports other failures.
func (s *Store) read(name string) (f sessionFile, ok bool, err error) {
	fd, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDONLY|fileOpenFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isSymlinkErr(err) {
			return sessionFile{}, false, nil
		}
		return sessionFile{}, false, err
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err != nil {
		return sessionFile{}, false, err
	}
	limit := int64(fileHeaderSize + fileMaxKey + s.maxSize)
	if !fi.Mode().IsRegular() || fi.Size() > limit {
		return sessionFile{}, false, nil
	}
	buf, err := io.ReadAll(io.LimitReader(fd, limit+1))
	if err != nil {
		return sessionFile{}, false, err
	}
	if int64(len(buf)) > limit {
		return sessionFile{}, false, nil
	}
	f, ok = parseSessionFile(buf)
	return f, ok, nil
}

// readKey reads the session of key and reports whether it holds a live
// record of that very key at now.
func (s *Store) readKey(name, key string, now time.Time) (sessionFile, bool, error) {
	f, ok, err := s.read(name)
	if err != nil || !ok || string(f.key) != key || !f.live(now) {
		return sessionFile{}, false, err
	}
	return f, true, nil
}

// write replaces the file name with buf: temp file, sync, rename, sync of
// the directory. The caller holds the shard lock of name.
func (s *Store) write(name string, buf []byte) error {
	return writeFile(s.dir, name, buf, s.syncDir)
}

// writeFile replaces the file name in dir with buf: temp file in dir,
// sync, rename, then syncDir.
func writeFile(dir, name string, buf []byte, syncDir func() error) error {
	tmp, err := os.CreateTemp(dir, fileTempPrefix+"*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(buf)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	return syncDir()
}

func (s *Store) syncDir() error {
	if s.dirFile == nil {
		return nil
	}
	return s.dirFile.Sync()
}

// lock takes the shard lock i: the in-process mutex, then the flock on the
// shard's lock file where the platform has one.
func (s *Store) lock(i byte) error {
	return s.lockShard(&s.shards[i], fmt.Sprintf("%s%02x", fileLockPrefix, i))
}

func (s *Store) unlock(i byte) { s.unlockShard(&s.shards[i]) }

// lockShard takes the lock sh: its in-process mutex, then the flock on its
// lock file name where the platform has one.
func (s *Store) lockShard(sh *fileShard, name string) error {
	sh.mu.Lock()
	if !fileFlock {
		return nil
	}
	if sh.f == nil {
		f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_RDWR|os.O_CREATE|fileOpenFlags, 0o600)
		if err != nil {
			sh.mu.Unlock()
			return err
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			sh.mu.Unlock()
			if err == nil {
				err = fmt.Errorf("lock file %s is not a regular file", name)
			}
			return err
		}
		sh.f = f
	}
	if err := lockFile(sh.f); err != nil {
		sh.mu.Unlock()
		return err
	}
	return nil
}

func (s *Store) unlockShard(sh *fileShard) {
	if fileFlock && sh.f != nil {
		if err := unlockFile(sh.f); err != nil {
			// Closing the descriptor releases the flock for sure; the file
			// is reopened on next use.
			_ = sh.f.Close()
			sh.f = nil
		}
	}
	sh.mu.Unlock()
}

func (s *Store) tooLarge(n int) error {
	return fmt.Errorf("filestore: record of %d bytes exceeds the limit of %d bytes: %w", n, s.maxSize, core.ErrTooLarge)
}

// Load returns the record stored under key. A missing, expired or
// unparsable file is found == false with a nil error. The returned slice is
// the caller's own.
func (s *Store) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.begin(ctx, "load"); err != nil {
		return nil, false, err
	}
	defer s.end()
	name, _ := fileName(key)
	f, ok, err := s.readKey(name, key, time.Now())
	if err != nil {
		return nil, false, fileErr("load", err)
	}
	if !ok {
		return nil, false, nil
	}
	return f.data, true, nil
}

// Save stores a copy of data under key until expiry, replacing any previous
// record. A record larger than the store's limit is an error wrapping
// [core.ErrTooLarge]; bytes that are not a record are refused with an error
// matching [core.ErrCorrupt].
func (s *Store) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.begin(ctx, "save"); err != nil {
		return err
	}
	defer s.end()
	if len(data) > s.maxSize {
		return s.tooLarge(len(data))
	}
	if err := record.Check(data); err != nil {
		return fileErr("save", err)
	}
	if len(key) > fileMaxKey {
		return fileErr("save", errors.New("key too long"))
	}
	b, bound, err := record.FindBinding(data)
	if err != nil {
		return fileErr("save", err)
	}
	name, shard := fileName(key)
	buf := encodeSessionFile(key, expiry, data)
	if bound {
		uk := record.UserKey(b.User)
		if err := s.lockUser(uk); err != nil {
			return fileErr("save", err)
		}
		defer s.unlockUser(uk)
	}
	if err := s.lock(shard); err != nil {
		return fileErr("save", err)
	}
	err = s.saveLocked(name, key, buf, b, bound)
	s.unlock(shard)
	if err != nil {
		return fileErr("save", err)
	}
	return nil
}

// saveLocked is Save under the locks: it indexes a bound record (a new
// one, or a Renew carrying its binding, when the key holds no live
// record) before it writes the session file.
func (s *Store) saveLocked(name, key string, buf []byte, b record.Binding, bound bool) error {
	if bound {
		create := true
		if b.Gen != 0 {
			_, live, err := s.readKey(name, key, time.Now())
			if err != nil {
				return err
			}
			create = !live
		}
		if err := s.index(name, buf[fileHeaderSize+len(key):], b, create); err != nil {
			return err
		}
	}
	return s.write(name, buf)
}

// Delete removes the record stored under key; deleting a missing key is a
// no-op returning nil. It reads the file before removing it, and when its
// record is bound to a user it then removes the record's index entry
// (best effort: an entry left behind is stale, skipped and pruned later).
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.begin(ctx, "delete"); err != nil {
		return err
	}
	defer s.end()
	name, shard := fileName(key)
	if err := s.lock(shard); err != nil {
		return fileErr("delete", err)
	}
	var b record.Binding
	var bound bool
	if f, ok, rerr := s.read(name); rerr == nil && ok && string(f.key) == key {
		b, bound, _ = record.FindBinding(f.data)
	}
	err := s.remove(name)
	s.unlock(shard)
	if err != nil {
		return fileErr("delete", err)
	}
	if bound {
		_ = s.unindex(name, b)
	}
	return nil
}

// remove deletes the file name, a missing file being no error, and syncs
// the directory. The caller holds the shard lock of name.
func (s *Store) remove(name string) error {
	err := os.Remove(filepath.Join(s.dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.syncDir()
}

// Take deletes the live record under key and returns it, holding the
// key's shard lock (in-process and, where supported, across processes)
// from the read to the removal of the file. A missing or expired record is
// found == false and its file is left to the cleanup.
func (s *Store) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.begin(ctx, "take"); err != nil {
		return nil, false, err
	}
	defer s.end()
	name, shard := fileName(key)
	if err := s.lock(shard); err != nil {
		return nil, false, fileErr("take", err)
	}
	defer s.unlock(shard)
	f, ok, err := s.readKey(name, key, time.Now())
	if err != nil {
		return nil, false, fileErr("take", err)
	}
	if !ok {
		return nil, false, nil
	}
	if b, bound, _ := record.FindBinding(f.data); bound {
		s.touchEntry(b)
	}
	if err := s.remove(name); err != nil {
		return nil, false, fileErr("take", err)
	}
	return f.data, true, nil
}

// SaveDelta applies d to the record under key with [record.Apply], holding
// the key's shard lock (in-process and, where supported, across processes)
// from the read to the rename of the new file. A delta that binds the
// record to a user holds the user's lock too, around the shard lock, and
// writes the index entry before the session file; one that leaves the
// binding alone or unbinds the record does not touch the index (the old
// entry is left stale).
func (s *Store) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := s.begin(ctx, "save delta"); err != nil {
		return err
	}
	defer s.end()
	if d == nil {
		return fileErr("save delta", errors.New("nil delta"))
	}
	if len(key) > fileMaxKey {
		return fileErr("save delta", errors.New("key too long"))
	}
	b, bound, changed, err := record.DeltaBinding(d)
	if err != nil {
		return fileErr("save delta", err)
	}
	indexed := changed && bound
	if indexed {
		uk := record.UserKey(b.User)
		if err := s.lockUser(uk); err != nil {
			return fileErr("save delta", err)
		}
		defer s.unlockUser(uk)
	}
	name, shard := fileName(key)
	if err := s.lock(shard); err != nil {
		return fileErr("save delta", err)
	}
	defer s.unlock(shard)
	now := time.Now()
	old, found, err := s.readKey(name, key, now)
	if err != nil {
		return fileErr("save delta", err)
	}
	data, expiry, err := record.Apply(old.data, found, d, now)
	if err != nil {
		return fileErr("save delta", err)
	}
	if len(data) > s.maxSize {
		return s.tooLarge(len(data))
	}
	if indexed {
		if err := s.index(name, data, b, d.Create); err != nil {
			return fileErr("save delta", err)
		}
	}
	if err := s.write(name, encodeSessionFile(key, expiry, data)); err != nil {
		return fileErr("save delta", err)
	}
	return nil
}

// Touch sets the expiry of the live record under key, in the file and in
// the record's header, by rewriting the file under the key's shard lock.
// Touching a missing or expired key is a no-op returning nil.
func (s *Store) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := s.begin(ctx, "touch"); err != nil {
		return err
	}
	defer s.end()
	name, shard := fileName(key)
	if err := s.lock(shard); err != nil {
		return fileErr("touch", err)
	}
	defer s.unlock(shard)
	f, ok, err := s.readKey(name, key, time.Now())
	if err != nil {
		return fileErr("touch", err)
	}
	if !ok {
		return nil
	}
	putTime(f.buf[5:13], expiry)
	if err := record.SetExpiry(f.data, expiry); err != nil {
		return fileErr("touch", err)
	}
	if err := s.write(name, f.buf); err != nil {
		return fileErr("touch", err)
	}
	return nil
}

// TTL returns the time left before the record under key expires. A
// missing, expired or unparsable record is found == false with a nil
// error.
func (s *Store) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := s.begin(ctx, "ttl"); err != nil {
		return 0, false, err
	}
	defer s.end()
	name, _ := fileName(key)
	now := time.Now()
	f, ok, err := s.readKey(name, key, now)
	if err != nil {
		return 0, false, fileErr("ttl", err)
	}
	if !ok {
		return 0, false, nil
	}
	exp, _ := record.Expiry(f.data) // live implies a valid header
	if !f.expiry.IsZero() && f.expiry.Before(exp) {
		exp = f.expiry
	}
	return exp.Sub(now), true, nil
}

// scan calls visit for every entry of the directory, in no particular
// order, reading it in batches so that a large directory is never held in
// memory at once. It stops at the first error of visit, ctx or the
// directory.
func (s *Store) scan(ctx context.Context, visit func(e fs.DirEntry) (more bool, err error)) error {
	return s.scanDir(ctx, s.dir, visit)
}

// scanDir is scan of the directory dir.
func (s *Store) scanDir(ctx context.Context, dir string, visit func(e fs.DirEntry) (more bool, err error)) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		ents, rerr := d.ReadDir(256)
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			more, err := visit(e)
			if err != nil || !more {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// Iterate calls fn with the key and data of each live record, in no
// particular order, until fn returns false. Files are read one at a time
// and no lock is held while fn runs, so fn may call any method of the
// store, including for the key it was given.
func (s *Store) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := s.begin(ctx, "iterate"); err != nil {
		return err
	}
	s.end()
	var closedErr error
	err := s.scan(ctx, func(e fs.DirEntry) (bool, error) {
		name := e.Name()
		if !isSessionName(name) {
			return true, nil
		}
		if closedErr = s.begin(ctx, "iterate"); closedErr != nil {
			return false, nil
		}
		f, ok, err := s.read(name)
		s.end()
		if err != nil {
			return false, err
		}
		if !ok || !f.live(time.Now()) || !keyMatches(name, f.key) {
			return true, nil
		}
		return fn(string(f.key), f.data), nil
	})
	if closedErr != nil {
		return closedErr
	}
	if err != nil {
		return fileErr("iterate", err)
	}
	return nil
}

// Count returns the number of live records. It reads every session file.
func (s *Store) Count(ctx context.Context) (int, error) {
	if err := s.begin(ctx, "count"); err != nil {
		return 0, err
	}
	defer s.end()
	n := 0
	err := s.scan(ctx, func(e fs.DirEntry) (bool, error) {
		name := e.Name()
		if !isSessionName(name) {
			return true, nil
		}
		f, ok, err := s.read(name)
		if err != nil {
			return false, err
		}
		if ok && f.live(time.Now()) && keyMatches(name, f.key) {
			n++
		}
		return true, nil
	})
	if err != nil {
		return 0, fileErr("count", err)
	}
	return n, nil
}

// Clear deletes every session file of the directory, each under its shard
// lock, and then the user index: each user's entries under the user's
// lock, but for those of a record saved while Clear ran, which (like
// their records) may survive it. Lock files and other files are kept.
func (s *Store) Clear(ctx context.Context) error {
	if err := s.begin(ctx, "clear"); err != nil {
		return err
	}
	defer s.end()
	err := s.scan(ctx, func(e fs.DirEntry) (bool, error) {
		name := e.Name()
		if !isSessionName(name) {
			return true, nil
		}
		shard := shardOf(name)
		if err := s.lock(shard); err != nil {
			return false, err
		}
		err := os.Remove(filepath.Join(s.dir, name))
		s.unlock(shard)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, err
		}
		return true, nil
	})
	if err == nil {
		err = s.syncDir()
	}
	if err == nil {
		err = s.sweepIndex(ctx, true)
	}
	if err != nil {
		return fileErr("clear", err)
	}
	return nil
}

// Cleanup removes the session files whose record has expired or that
// cannot be parsed, and temp files older than a minute (left by a writer
// that crashed), and prunes the user index (reading every entry and the
// session file it names): the entries of the records it removed, every
// entry whose record is missing or no longer bound to it (but for a
// record taken less than a minute ago, for the Renew in flight), entry
// files that are no entries, stale temp files and empty user directories.
// It reports how many session files it removed. A file is checked again
// under its shard lock before removal, so a record a concurrent writer has
// just renewed is kept. An unreadable file does not stop the sweep; the
// first such error is returned at the end.
func (s *Store) Cleanup(ctx context.Context) (int, error) {
	if err := s.begin(ctx, "cleanup"); err != nil {
		return 0, err
	}
	defer s.end()
	removed := 0
	var firstErr error
	note := func(err error) {
		if firstErr == nil && err != nil && !errors.Is(err, fs.ErrNotExist) {
			firstErr = err
		}
	}
	// dead reads the session file name and reports whether it is to be
	// removed, and the binding of its record to unindex then.
	dead := func(name string) (d bool, b record.Binding, bound bool, err error) {
		f, ok, err := s.read(name)
		if err != nil {
			return false, b, false, err
		}
		if !ok || !keyMatches(name, f.key) {
			return true, b, false, nil
		}
		if f.live(time.Now()) {
			return false, b, false, nil
		}
		b, bound, _ = record.FindBinding(f.data)
		return true, b, bound, nil
	}
	err := s.scan(ctx, func(e fs.DirEntry) (bool, error) {
		if s.closed.Load() {
			return false, core.ErrClosed
		}
		name := e.Name()
		if strings.HasPrefix(name, fileTempPrefix) {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > fileStaleTemp {
				note(os.Remove(filepath.Join(s.dir, name)))
			}
			return true, nil
		}
		if !isSessionName(name) {
			return true, nil
		}
		if d, _, _, err := dead(name); err != nil || !d {
			note(err)
			return true, nil
		}
		shard := shardOf(name)
		if err := s.lock(shard); err != nil {
			return false, err
		}
		d, b, bound, err := dead(name)
		if err == nil && d {
			err = os.Remove(filepath.Join(s.dir, name))
			if err == nil {
				removed++
			}
		}
		s.unlock(shard)
		note(err)
		if err == nil && d && bound {
			note(s.unindex(name, b))
		}
		return true, nil
	})
	if err == nil && removed > 0 {
		err = s.syncDir()
	}
	if err == nil {
		err = s.sweepIndex(ctx, false)
	}
	if err == nil {
		err = firstErr
	}
	if err != nil {
		return removed, fileErr("cleanup", err)
	}
	return removed, nil
}

// putTime writes t into b[:8] as big-endian Unix nanoseconds, 0 for the
// zero time, as the file header keeps its expiry.
func putTime(b []byte, t time.Time) {
	var n int64
	if !t.IsZero() {
		n = t.UnixNano()
	}
	binary.BigEndian.PutUint64(b, uint64(n))
}

// getTime reads a time written by putTime.
func getTime(b []byte) time.Time {
	n := int64(binary.BigEndian.Uint64(b))
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
