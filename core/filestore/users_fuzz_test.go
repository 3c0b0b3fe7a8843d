package filestore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// FuzzFileStoreEntry decodes arbitrary entry files: never a panic, and
// what decodes is exactly what encodeEntry writes for it.
func FuzzFileStoreEntry(f *testing.F) {
	good, err := encodeEntry(strings.Repeat("ab", 32), "handle")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(entryName("handle"), good)
	f.Add(entryName("handle"), good[:len(good)-1])
	f.Add(entryName("other"), good)
	f.Add(entryName(""), []byte(entryMagic+"\x01"))
	f.Add("x", bytes.Repeat([]byte{0xff}, entryMaxSize+1))
	f.Fuzz(func(t *testing.T, name string, buf []byte) {
		e, ok := decodeEntry(name, buf)
		if !ok {
			return
		}
		again, err := encodeEntry(e.file, e.handle)
		if err != nil || !bytes.Equal(again, buf) || name != entryName(e.handle) || !isSessionName(e.file) {
			t.Fatalf("decoded %+v from %q under %q; encodes to %q, %v", e, buf, name, again, err)
		}
	})
}

// FuzzFileStoreUser binds a session to arbitrary users and handles, lists
// and destroys it: every file stays inside the store's directory, the
// index finds the session, and nothing of it is left.
func FuzzFileStoreUser(f *testing.F) {
	for _, s := range [][2]string{{"alice", "h"}, {"../../etc", "../x"}, {"a/b", "\x00"}, {"é", strings.Repeat("h", 255)}, {".", "."}} {
		f.Add(s[0], s[1])
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	s, err := New(dir, WithCleanupInterval(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, user, handle string) {
		v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle})
		if err != nil {
			return // no user, or a handle record refuses
		}
		ctx := context.Background()
		exp := time.Now().Add(time.Hour)
		d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
			Set: []record.Entry{{Key: record.BindingKey, Value: v}}}
		if err := s.SaveDelta(ctx, "fuzz", d); err != nil {
			t.Fatal(err)
		}
		recs, err := s.UserSessions(ctx, record.UserKey(user))
		if err != nil || len(recs) != 1 || recs[0].Key != "fuzz" {
			t.Fatalf("UserSessions = %v, %v", recs, err)
		}
		hs, err := s.DeleteUserSessions(ctx, record.UserKey(user), func(h string) bool { return h == handle })
		if err != nil || len(hs) != 1 || hs[0] != handle {
			t.Fatalf("DeleteUserSessions = %q, %v", hs, err)
		}
		if _, found, _ := s.Load(ctx, "fuzz"); found {
			t.Fatal("the session survived")
		}
		ents, _ := os.ReadDir(parent)
		if len(ents) != 1 {
			t.Fatalf("files outside the store: %v", ents)
		}
		if ents, _ := os.ReadDir(filepath.Join(dir, indexDirName)); len(ents) != 0 {
			t.Fatalf("index left: %v", ents)
		}
	})
}
