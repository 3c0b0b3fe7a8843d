//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package filestore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileFlock reports whether [Store] locks across processes with
// flock(2) on this platform.
const fileFlock = true

// fileDirSync reports whether [Store] syncs its directory after a
// rename on this platform.
const fileDirSync = true

// lockFile takes an exclusive flock on f, blocking until it is free.
// Flock is retried on EINTR, which the Go runtime's preemption signals can
// cause.
func lockFile(f *os.File) error {
	return flock(f, syscall.LOCK_EX)
}

func unlockFile(f *os.File) error {
	return flock(f, syscall.LOCK_UN)
}

func flock(f *os.File, how int) error {
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, how)
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}

// fileOpenFlags are added to every open of a session or lock file: a
// symlink is refused (ELOOP) and a FIFO cannot block the open.
const fileOpenFlags = syscall.O_NOFOLLOW | syscall.O_NONBLOCK

// checkFileDir refuses a store directory that another user could write to
// or that belongs to another user.
func checkFileDir(dir string, fi os.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("filestore: directory %s is writable by group or others (mode %o): run chmod 700 %s", dir, perm, dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("filestore: directory %s is owned by uid %d, not by this process (uid %d): run chown %d %s, or use a directory of your own", dir, st.Uid, os.Geteuid(), os.Geteuid(), dir)
	}
	return nil
}

// isSymlinkErr reports whether err is the ELOOP an O_NOFOLLOW open of a
// symlink fails with.
func isSymlinkErr(err error) bool { return errors.Is(err, syscall.ELOOP) }
