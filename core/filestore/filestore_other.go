//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd)

package filestore

import (
	"errors"
	"os"
	"runtime"
)

// fileFlock reports whether [Store] locks across processes with
// flock(2). This platform has no flock in the standard library, so the
// file store's locking is in-process only here (see [Store]).
const fileFlock = false

// fileDirSync reports whether [Store] syncs its directory after a
// rename: Windows cannot sync a directory handle and Plan 9 and WebAssembly
// hosts have no such notion, so there the rename alone is relied on.
const fileDirSync = runtime.GOOS != "windows" && runtime.GOOS != "plan9" &&
	runtime.GOOS != "js" && runtime.GOOS != "wasip1"

var errNoFlock = errors.New("flock not supported on " + runtime.GOOS)

// lockFile is never called where fileFlock is false.
func lockFile(*os.File) error { return errNoFlock }

func unlockFile(*os.File) error { return errNoFlock }

// fileOpenFlags: this platform has no O_NOFOLLOW in the standard library;
// the file store still refuses anything but a regular file after opening.
const fileOpenFlags = 0

// checkFileDir: Windows and the other platforms here have no Unix modes
// or owners to check.
func checkFileDir(string, os.FileInfo) error { return nil }

func isSymlinkErr(error) bool { return false }
