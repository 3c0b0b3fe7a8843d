//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package filestore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/record"
)

// TestFileStoreUsersHostileEntries replaces entry files with a symlink to
// a valid entry, a symlink to /dev/zero, a FIFO, a huge sparse file,
// garbage of an entry's size and a valid entry under another handle's
// name: every read skips them, in bounded time and memory, without
// following them, and Cleanup removes them; the good entries keep working.
func TestFileStoreUsersHostileEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	handles := []string{"good", "symlink", "zero", "fifo", "huge", "garbage", "renamed"}
	for _, h := range handles {
		bindKey(t, st, "k-"+h, "kim", h, exp)
	}
	elsewhere := filepath.Join(t.TempDir(), "entry")
	good, err := os.ReadFile(entryOf(dir, "kim", "good"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(elsewhere, good, 0o600); err != nil {
		t.Fatal(err)
	}
	plant := func(h string, f func(p string) error) {
		t.Helper()
		p := entryOf(dir, "kim", h)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := f(p); err != nil {
			t.Fatal(err)
		}
	}
	plant("symlink", func(p string) error { return os.Symlink(elsewhere, p) })
	plant("zero", func(p string) error { return os.Symlink("/dev/zero", p) })
	plant("fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) })
	plant("huge", func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Truncate(1 << 30)
	})
	plant("garbage", func(p string) error { return os.WriteFile(p, make([]byte, len(good)), 0o600) })
	plant("renamed", func(p string) error { return os.WriteFile(p, good, 0o600) })

	bounded(t, "UserSessions", func(ctx context.Context) {
		if got := userKeys(t, st, "kim"); !slices.Equal(got, []string{"k-good"}) {
			t.Errorf("kim's keys with hostile entries: %q, want [k-good]", got)
		}
	})
	bounded(t, "DeleteUserSessions", func(ctx context.Context) {
		hs, err := st.DeleteUserSessions(ctx, record.UserKey("kim"), func(h string) bool { return h != "good" })
		if err != nil || len(hs) != 0 {
			t.Errorf("DeleteUserSessions(kim, but good) = %q, %v; want none", hs, err)
		}
	})
	if _, found, _ := st.Load(ctx, "k-good"); !found {
		t.Error("the good session is gone")
	}
	if b, err := os.ReadFile(elsewhere); err != nil || !slices.Equal(b, good) {
		t.Errorf("the symlinked entry's target changed: %v", err)
	}
	// Old enough for Cleanup to remove what is no entry (the listing's
	// prune may have done so already).
	bounded(t, "Cleanup", func(ctx context.Context) {
		if _, err := st.Cleanup(ctx); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
	})
	want := []string{filepath.Base(entryOf(dir, "kim", "good"))}
	if got := entryNames(t, dir, "kim"); !slices.Equal(got, want) {
		t.Errorf("after Cleanup kim's index holds %q, want only the good entry %q", got, want)
	}
	if _, err := os.Stat(elsewhere); err != nil {
		t.Errorf("Cleanup removed a symlink's target: %v", err)
	}
	hs, err := st.DeleteUserSessions(ctx, record.UserKey("kim"), func(string) bool { return true })
	if err != nil || !slices.Equal(hs, []string{"good"}) {
		t.Errorf("DeleteUserSessions(kim) = %q, %v; want [good]", hs, err)
	}
}

// TestFileStoreUsersUnsafeDirs checks that an index directory that is a
// symlink, writable by group or others, or owned by another user is
// refused by every index operation, and nothing is written through it.
func TestFileStoreUsersUnsafeDirs(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	bindErr := func(st *filestore.Store, key, user string) error {
		v, _ := record.EncodeBinding(nil, record.Binding{User: user, Handle: "h"})
		return st.SaveDelta(t.Context(), key, &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
			Set: []record.Entry{{Key: record.BindingKey, Value: v}}})
	}
	refused := func(t *testing.T, st *filestore.Store, user string) {
		t.Helper()
		if err := bindErr(st, "k-"+user, user); err == nil {
			t.Error("binding through an unsafe index directory succeeded")
		}
		if _, found, _ := st.Load(t.Context(), "k-"+user); found {
			t.Error("the refused bind left a session")
		}
		if _, err := st.UserSessions(t.Context(), record.UserKey(user)); err == nil {
			t.Error("UserSessions through an unsafe index directory succeeded")
		}
		if _, err := st.DeleteUserSessions(t.Context(), record.UserKey(user), func(string) bool { return true }); err == nil {
			t.Error("DeleteUserSessions through an unsafe index directory succeeded")
		}
	}

	t.Run("root symlink", func(t *testing.T) {
		dir, target := t.TempDir(), t.TempDir()
		if err := os.Symlink(target, filepath.Join(dir, ".users")); err != nil {
			t.Fatal(err)
		}
		st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
		refused(t, st, "lee")
		if ents, _ := os.ReadDir(target); len(ents) != 0 {
			t.Errorf("written through the symlink: %v", ents)
		}
		if _, err := st.Cleanup(t.Context()); err == nil {
			t.Error("Cleanup accepted a symlinked index directory")
		}
	})
	t.Run("user symlink", func(t *testing.T) {
		dir, target := t.TempDir(), t.TempDir()
		st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
		bindKey(t, st, "other", "someone", "h", exp) // creates .users
		if err := os.Symlink(target, userDirOf(dir, "lee")); err != nil {
			t.Fatal(err)
		}
		refused(t, st, "lee")
		if ents, _ := os.ReadDir(target); len(ents) != 0 {
			t.Errorf("written through the symlink: %v", ents)
		}
	})
	for _, mode := range []os.FileMode{0o770, 0o707} {
		t.Run("user mode "+mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
			bindKey(t, st, "first", "lee", "h0", exp)
			if err := os.Chmod(userDirOf(dir, "lee"), mode); err != nil {
				t.Fatal(err)
			}
			refused(t, st, "lee")
		})
	}
	t.Run("user dir a file", func(t *testing.T) {
		dir := t.TempDir()
		st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
		bindKey(t, st, "other", "someone", "h", exp)
		if err := os.WriteFile(userDirOf(dir, "lee"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		refused(t, st, "lee")
	})
	t.Run("foreign owner", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to chown")
		}
		dir := t.TempDir()
		st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
		bindKey(t, st, "first", "lee", "h0", exp)
		if err := os.Chown(userDirOf(dir, "lee"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
		refused(t, st, "lee")
	})
}
