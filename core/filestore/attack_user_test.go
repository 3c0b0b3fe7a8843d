package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// TestAttackFileSaveCarriedBindingAfterDestroy is the Redis finding's
// probe on the file store: a whole-record Save of a destroyed session's
// record (binding Gen != 0) must not bring it back. (Holds.)
func TestAttackFileSaveCarriedBindingAfterDestroy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	key := "k"
	if err := s.Save(ctx, key, storetest.BoundRecord(exp, "zoe", "h1", 0, "a", "1"), exp); err != nil {
		t.Fatal(err)
	}
	snap, found, err := s.Load(ctx, key)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	if hs, err := s.DeleteUserSessions(ctx, record.UserKey("zoe"), func(string) bool { return true }); err != nil || len(hs) != 1 {
		t.Fatalf("DeleteUserSessions = %q, %v", hs, err)
	}
	for _, k := range []string{key, "other"} {
		err := s.Save(ctx, k, snap, exp)
		if _, found, _ := s.Load(ctx, k); found {
			t.Errorf("Save(%q) after DeleteUserSessions = %v: resurrected", k, err)
		} else if !errors.Is(err, core.ErrSessionGone) {
			t.Errorf("Save(%q) = %v, want ErrSessionGone", k, err)
		}
	}
}

// TestAttackFileHostileEntryNamesOtherUser plants, in ann's index
// directory, a well-formed entry naming bob's session under bob's handle:
// destroying ann must not delete bob's session, nor list it. (Holds.)
func TestAttackFileHostileEntryNamesOtherUser(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := filestore.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	if err := s.Save(ctx, "ann1", storetest.BoundRecord(exp, "ann", "ha", 0), exp); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "bob1", storetest.BoundRecord(exp, "bob", "hb", 0), exp); err != nil {
		t.Fatal(err)
	}
	// Copy bob's entry into ann's directory.
	bobEntry := entryOf(dir, "bob", "hb")
	buf, err := os.ReadFile(bobEntry)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(userDirOf(dir, "ann"), filepath.Base(bobEntry)), buf, 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := s.UserSessions(ctx, record.UserKey("ann"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Key == "bob1" {
			t.Errorf("ann's listing holds bob's session")
		}
	}
	if _, err := s.DeleteUserSessions(ctx, record.UserKey("ann"), func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := s.Load(ctx, "bob1"); !found {
		t.Errorf("destroying ann deleted bob's session through a planted entry")
	}
}
