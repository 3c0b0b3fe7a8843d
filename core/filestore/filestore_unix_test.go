//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package filestore_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/record"
)

// fileOfKey saves a record under key in s and returns the path of its
// session file.
func fileOfKey(t *testing.T, s *filestore.Store, key string) string {
	t.Helper()
	exp := time.Now().Add(time.Hour)
	if err := s.Save(t.Context(), key, fileTestRecord(exp, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	for _, n := range fileStoreFiles(t, s.Dir()) {
		p := filepath.Join(s.Dir(), n)
		// Only regular files: earlier cases plant symlinks to /dev/zero
		// and FIFOs, which this helper must neither follow nor wait on.
		if fi, err := os.Lstat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), key) {
			return p
		}
	}
	t.Fatalf("no file for key %q", key)
	return ""
}

// bounded runs f and fails the test when it takes more than 5 seconds or
// grows the heap by more than 64 MiB.
func bounded(t *testing.T, what string, f func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	go func() { defer close(done); f(ctx) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s did not return within 5s", what)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := int64(after.TotalAlloc - before.TotalAlloc); grew > 64<<20 {
		t.Errorf("%s allocated %d MiB", what, grew>>20)
	}
}

// TestFileStoreRefusesForeignFiles replaces session files with a symlink to
// /dev/zero, a symlink to a regular file, a FIFO and an oversized file:
// every read treats them as corrupt, in bounded time and memory, and
// Cleanup removes them.
func TestFileStoreRefusesForeignFiles(t *testing.T) {
	dir := t.TempDir()
	s := newTestFileStore(t, dir, filestore.WithCleanupInterval(0), filestore.WithMaxRecordSize(1024))
	outside := filepath.Join(t.TempDir(), "target")
	good := fileOfKey(t, s, "target")
	if err := os.Rename(good, outside); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(p string) error{
		"zero":    func(p string) error { return os.Symlink("/dev/zero", p) },
		"symlink": func(p string) error { return os.Symlink(outside, p) },
		"fifo":    func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"huge": func(p string) error {
			return os.WriteFile(p, make([]byte, 1<<20), 0o600)
		},
	}
	for key, plant := range cases {
		p := fileOfKey(t, s, key)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := plant(p); err != nil {
			t.Fatal(err)
		}
		bounded(t, key+" Load", func(ctx context.Context) {
			if _, found, err := s.Load(ctx, key); found || err != nil {
				t.Errorf("Load(%s) = %v, %v; want not found", key, found, err)
			}
		})
		bounded(t, key+" SaveDelta", func(ctx context.Context) {
			_ = s.SaveDelta(ctx, key, &record.Delta{Expiry: time.Now().Add(time.Hour)})
		})
	}
	bounded(t, "Count", func(ctx context.Context) {
		if n, err := s.Count(ctx); n != 0 || err != nil {
			t.Errorf("Count = %d, %v; want 0", n, err)
		}
	})
	bounded(t, "Cleanup", func(ctx context.Context) {
		if n, err := s.Cleanup(ctx); n != len(cases) || err != nil {
			t.Errorf("Cleanup = %d, %v; want %d", n, err, len(cases))
		}
	})
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("the symlink's target was touched: %v", err)
	}
	bounded(t, "Close", func(context.Context) { s.Close() })
}

// TestFileStoreLockFileSymlink plants the store's lock files as symlinks to
// a file outside the directory: writes fail rather than create or lock it.
func TestFileStoreLockFileSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	for i := 0; i < 256; i++ {
		if err := os.Symlink(victim, filepath.Join(dir, ".lock-"+hex2(i))); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	exp := time.Now().Add(time.Hour)
	bounded(t, "Save", func(ctx context.Context) {
		if err := s.Save(ctx, "k", fileTestRecord(exp, "a", "1"), exp); err == nil {
			t.Error("Save through a symlinked lock file succeeded")
		}
	})
	if _, err := os.Lstat(victim); err == nil {
		t.Error("the lock file's symlink target was created")
	}
}

func hex2(i int) string { return string("0123456789abcdef"[i>>4]) + string("0123456789abcdef"[i&15]) }

// TestFileStoreRefusesUnsafeDir checks that New refuses a
// directory writable by group or others, or owned by another user, with an
// error saying how to fix it, and that a directory it creates is 0700.
func TestFileStoreRefusesUnsafeDir(t *testing.T) {
	for _, mode := range []os.FileMode{0o770, 0o702, 0o777} {
		dir := t.TempDir()
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		s, err := filestore.New(dir)
		if err == nil {
			s.Close()
			t.Errorf("mode %o: New succeeded", mode)
		} else if !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Errorf("mode %o: error %q does not say chmod 700 %s", mode, err, dir)
		}
	}
	if os.Geteuid() == 0 {
		dir := t.TempDir()
		if err := os.Chown(dir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		s, err := filestore.New(dir)
		if err == nil {
			s.Close()
			t.Error("a directory owned by uid 65534: New succeeded")
		} else if !strings.Contains(err.Error(), "chown") {
			t.Errorf("other owner: error %q does not say chown", err)
		}
	} else {
		t.Log("not root: the other-owner case needs chown")
	}
	dir := filepath.Join(t.TempDir(), "new", "sessions")
	s := newTestFileStore(t, dir)
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want mode 700", p, fi.Mode(), err)
		}
	}
	_ = s
}
