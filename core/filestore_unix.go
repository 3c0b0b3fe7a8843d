//go:build darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package core

import (
	"os"
	"syscall"
)

// fileFlock reports whether [FileStore] locks across processes with
// flock(2) on this platform.
const fileFlock = true

// fileDirSync reports whether [FileStore] syncs its directory after a
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
