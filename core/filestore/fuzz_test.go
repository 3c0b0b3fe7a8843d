package filestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// The seed corpus of this fuzzer lives in testdata/fuzz/FuzzFileStoreKey,
// so plain `go test` runs every seed; `go test -fuzz=FuzzFileStoreKey
// ./core/filestore` explores further. It is an internal test: it tells
// session files from lock files by the store's own rules.

// FuzzFileStoreKey saves, loads and deletes arbitrary keys in a file
// store: every file it creates is inside its directory, the round trip
// returns the data, and Delete leaves no session file behind.
func FuzzFileStoreKey(f *testing.F) {
	for _, k := range []string{"", "k", "../../etc/passwd", "/abs/path", "a\x00b", "..", ".", "C:\\x", "é/ü", strings.Repeat("x", 300), core.StoreKey(rand.Text())} {
		f.Add(k)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	fs, err := New(dir, WithCleanupInterval(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { fs.Close() })
	ctx := context.Background()

	onlyStoreDir := func(t *testing.T) []string {
		t.Helper()
		es, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 || es[0].Name() != "store" {
			var names []string
			for _, e := range es {
				names = append(names, e.Name())
			}
			t.Fatalf("files appeared beside the store's directory: %q", names)
		}
		es, err = os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var sessions []string
		for _, e := range es {
			name := e.Name()
			switch {
			case e.IsDir():
				t.Fatalf("the store created a directory %q", name)
			case isSessionName(name):
				sessions = append(sessions, name)
			case strings.HasPrefix(name, fileLockPrefix):
			default:
				t.Fatalf("unexpected file %q in the store's directory", name)
			}
		}
		return sessions
	}

	f.Fuzz(func(t *testing.T, key string) {
		now := time.Now()
		exp := now.Add(time.Hour)
		data := record.Append(nil, record.NewHeader(false, now, exp), []record.Entry{{Key: key, Value: record.EncodeEntry(nil, time.Time{}, []byte(key))}})
		if err := fs.Save(ctx, key, data, exp); err != nil {
			t.Fatalf("Save(%q): %v", key, err)
		}
		if got := onlyStoreDir(t); len(got) != 1 {
			t.Fatalf("Save(%q) left %d session files, want 1", key, len(got))
		}
		got, found, err := fs.Load(ctx, key)
		if err != nil || !found || !bytes.Equal(got, data) {
			t.Fatalf("Load(%q) = %x, %v, %v; want the saved record", key, got, found, err)
		}
		// A key differing in one byte does not see the record.
		if _, found, _ := fs.Load(ctx, key+"\x00"); found {
			t.Fatalf("Load(%q+NUL) found the record of %q", key, key)
		}
		if err := fs.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
		if _, found, err := fs.Load(ctx, key); found || err != nil {
			t.Fatalf("Load after Delete(%q): found %v, err %v", key, found, err)
		}
		if got := onlyStoreDir(t); len(got) != 0 {
			t.Fatalf("Delete(%q) left session files %q", key, got)
		}
	})
}
