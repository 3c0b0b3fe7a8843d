package filestore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/record"
)

// userDev is one logged-in client of a user: its token and handle.
type userDev struct{ token, handle string }

func fileManager(s core.Store) *core.Manager {
	return core.NewManager(s, core.WithLogger(slog.New(slog.DiscardHandler)))
}

// fileLogin commits a new session bound to user, renewed as a login does
// it.
func fileLogin(t *testing.T, m *core.Manager, user string) userDev {
	t.Helper()
	s, err := m.Load(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	s.Set("user", user)
	s.SetUser(user)
	s.Renew()
	res, err := m.Commit(t.Context(), s)
	if err != nil || res.Token == "" {
		t.Fatalf("login commit: token %q, %v", res.Token, err)
	}
	return userDev{res.Token, s.Handle()}
}

// fileRenew loads d's session, renews it and commits; it returns the new
// device and the commit's error.
func fileRenew(t *testing.T, m *core.Manager, d userDev) (userDev, error) {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		return d, err
	}
	s.Renew()
	res, err := m.Commit(t.Context(), s)
	if res.Token != "" {
		d.token = res.Token
	}
	return d, err
}

// fileLoggedIn reports whether d's token loads a session bound to user.
func fileLoggedIn(t *testing.T, m *core.Manager, d userDev, user string) bool {
	t.Helper()
	s, err := m.Load(t.Context(), d.token)
	if err != nil {
		t.Fatal(err)
	}
	v, _ := s.Get("user")
	return s.ID() != "" && s.User() == user && v == user
}

func fileHandles(t *testing.T, m *core.Manager, user string) []string {
	t.Helper()
	infos, err := m.UserSessions(t.Context(), user)
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", user, err)
	}
	var hs []string
	for _, in := range infos {
		if in.User != user {
			t.Errorf("UserSessions(%s) lists a session of %q", user, in.User)
		}
		hs = append(hs, in.Handle)
	}
	slices.Sort(hs)
	return hs
}

func sortedHandles(hs ...string) []string { return slices.Sorted(slices.Values(hs)) }

// userDirOf returns the index directory of user in the store directory
// dir, and entryOf the entry file of one of its handles.
func userDirOf(dir, user string) string {
	return filepath.Join(dir, ".users", record.UserKey(user))
}

func entryOf(dir, user, handle string) string {
	sum := sha256.Sum256([]byte(handle))
	return filepath.Join(userDirOf(dir, user), hex.EncodeToString(sum[:]))
}

// entryNames returns the names of the files in user's index directory.
func entryNames(t *testing.T, dir, user string) []string {
	t.Helper()
	ents, err := os.ReadDir(userDirOf(dir, user))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func wantEntry(t *testing.T, dir, user, handle string, want bool) {
	t.Helper()
	_, err := os.Lstat(entryOf(dir, user, handle))
	if got := err == nil; got != want {
		t.Errorf("entry of %s/%s exists: %v (%v), want %v", user, handle, got, err, want)
	}
}

// TestFileStoreUsers runs log out everywhere end to end on a file store:
// three devices, a renewed one, log out others, another user, a single
// device revoke and a logout, checking the entry files as it goes.
func TestFileStoreUsers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	m := fileManager(st)
	ctx := t.Context()
	a := []userDev{fileLogin(t, m, "alice"), fileLogin(t, m, "alice"), fileLogin(t, m, "alice")}
	bob := fileLogin(t, m, "bob")
	if got, want := fileHandles(t, m, "alice"), sortedHandles(a[0].handle, a[1].handle, a[2].handle); !slices.Equal(got, want) {
		t.Fatalf("alice's devices: %q, want %q", got, want)
	}
	for _, d := range a {
		wantEntry(t, dir, "alice", d.handle, true)
	}
	if n := len(entryNames(t, dir, "alice")); n != 3 {
		t.Errorf("alice's index holds %d files, want 3", n)
	}

	// The index is invisible to the store's own listings.
	if n, err := st.Count(ctx); err != nil || n != 4 {
		t.Errorf("Count = %d, %v; want 4 (the index files are no sessions)", n, err)
	}
	seen := 0
	if err := st.Iterate(ctx, func(string, []byte) bool { seen++; return true }); err != nil || seen != 4 {
		t.Errorf("Iterate visited %d, %v; want 4", seen, err)
	}

	// A device renewed (twice) after binding keeps its handle and entry.
	var err error
	for range 2 {
		if a[2], err = fileRenew(t, m, a[2]); err != nil {
			t.Fatalf("Renew: %v", err)
		}
	}
	if got, want := fileHandles(t, m, "alice"), sortedHandles(a[0].handle, a[1].handle, a[2].handle); !slices.Equal(got, want) {
		t.Fatalf("after Renew: %q, want %q", got, want)
	}
	if n := len(entryNames(t, dir, "alice")); n != 3 {
		t.Errorf("after Renew alice's index holds %d files, want 3", n)
	}

	// A session that exists already, bound later without a Renew (a
	// delta binding an existing record: entry before record).
	anon, err := m.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	anon.Set("cart", "1")
	res, err := m.Commit(ctx, anon)
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.Load(ctx, res.Token)
	if err != nil || s.ID() == "" {
		t.Fatalf("reload: %v", err)
	}
	s.Set("user", "alice")
	s.SetUser("alice")
	if _, err := m.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	a = append(a, userDev{res.Token, s.Handle()})
	if got, want := fileHandles(t, m, "alice"), sortedHandles(a[0].handle, a[1].handle, a[2].handle, a[3].handle); !slices.Equal(got, want) {
		t.Fatalf("after binding an existing session: %q, want %q", got, want)
	}

	// Log out the other devices, from a[1].
	n, err := m.DestroyUserSessions(ctx, "alice", a[1].handle)
	if err != nil || n != 3 {
		t.Fatalf("DestroyUserSessions(alice, except a[1]) = %d, %v; want 3", n, err)
	}
	for i, d := range a {
		if got := fileLoggedIn(t, m, d, "alice"); got != (i == 1) {
			t.Errorf("device %d logged in: %v", i, got)
		}
		wantEntry(t, dir, "alice", d.handle, i == 1)
	}
	if !fileLoggedIn(t, m, bob, "bob") {
		t.Error("bob was logged out by alice's destroy")
	}
	wantEntry(t, dir, "bob", bob.handle, true)

	// Another user's handle revokes nothing; the user's own does.
	if err := m.DestroySession(ctx, "alice", bob.handle); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("DestroySession(alice, bob's handle) = %v, want ErrSessionGone", err)
	}
	if !fileLoggedIn(t, m, bob, "bob") {
		t.Fatal("alice revoked bob's device")
	}
	if err := m.DestroySession(ctx, "bob", bob.handle); err != nil {
		t.Fatalf("DestroySession(bob): %v", err)
	}
	if fileLoggedIn(t, m, bob, "bob") {
		t.Error("bob's revoked device is still logged in")
	}
	if _, err := os.Lstat(userDirOf(dir, "bob")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bob's emptied index directory is left: %v", err)
	}

	// A logout (Destroy, a Delete of the file) removes the entry after
	// the session file.
	s, err = m.Load(ctx, a[1].token)
	if err != nil {
		t.Fatal(err)
	}
	s.Destroy()
	if _, err := m.Commit(ctx, s); err != nil {
		t.Fatal(err)
	}
	wantEntry(t, dir, "alice", a[1].handle, false)
	if hs := fileHandles(t, m, "alice"); len(hs) != 0 {
		t.Errorf("alice still has %q", hs)
	}
	if n, err := m.DestroyUserSessions(ctx, "alice"); n != 0 || err != nil {
		t.Errorf("DestroyUserSessions of a user with none = %d, %v", n, err)
	}
}

// TestFileStoreUsersGen checks that the store stamps a generation into
// new bindings written by Save and by deltas, and keeps a carried one.
func TestFileStoreUsersGen(t *testing.T) {
	t.Parallel()
	st := newTestFileStore(t, t.TempDir(), filestore.WithCleanupInterval(0))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	data := boundRecord(t, exp, "gina", "hs", 0)
	orig := slices.Clone(data)
	if err := st.Save(ctx, "saved", data, exp); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data, orig) {
		t.Error("Save modified the caller's data")
	}
	if b := loadBinding(t, st, "saved"); b.Gen == 0 || b.User != "gina" || b.Handle != "hs" {
		t.Errorf("Save of a new binding keeps %+v", b)
	}
	// Save over the live record with the stored generation: kept, indexed.
	if err := st.Save(ctx, "saved", boundRecord(t, exp, "gina", "hs", 7), exp); err != nil {
		t.Fatal(err)
	}
	if b := loadBinding(t, st, "saved"); b.Gen != 7 {
		t.Errorf("a carried generation became %d", b.Gen)
	}
	// A Save carrying a binding to a new key whose entry is gone is a
	// Renew after a destroy: refused.
	if _, err := st.DeleteUserSessions(ctx, record.UserKey("gina"), func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, "saved-2", boundRecord(t, exp, "gina", "hs", 7), exp); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("Save carrying a destroyed binding: %v, want ErrSessionGone", err)
	}
	if _, found, _ := st.Load(ctx, "saved-2"); found {
		t.Error("the refused Save left a record")
	}
}

func boundRecord(t *testing.T, exp time.Time, user, handle string, gen uint64) []byte {
	t.Helper()
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle, Gen: gen})
	if err != nil {
		t.Fatal(err)
	}
	return record.Append(nil, record.NewHeader(false, time.Now(), exp), []record.Entry{
		{Key: "a", Value: record.EncodeEntry(nil, time.Time{}, []byte("1"))},
		{Key: record.BindingKey, Value: v},
	})
}

func loadBinding(t *testing.T, s core.Store, key string) record.Binding {
	t.Helper()
	data, found, err := s.Load(t.Context(), key)
	if err != nil || !found {
		t.Fatalf("Load(%q): %v, %v", key, found, err)
	}
	b, ok, err := record.FindBinding(data)
	if err != nil || !ok {
		t.Fatalf("binding of %q: %v, %v", key, ok, err)
	}
	return b
}

// bindKey creates key bound to user under handle, as a login's commit
// does: a create whose binding has generation 0.
func bindKey(t *testing.T, s *filestore.Store, key, user, handle string, exp time.Time) {
	t.Helper()
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
		Set: []record.Entry{{Key: record.BindingKey, Value: v}}}
	if err := s.SaveDelta(t.Context(), key, d); err != nil {
		t.Fatalf("bind %q: %v", key, err)
	}
}

// carry takes from through a and creates to through b with the taken
// binding, as Renew does; it returns the create's error.
func carry(t *testing.T, a, b *filestore.Store, from, to string, exp time.Time, between func()) error {
	t.Helper()
	data, found, err := a.Take(t.Context(), from)
	if err != nil || !found {
		return fmt.Errorf("Take(%q): %v, %v", from, found, err)
	}
	bd, _, err := record.FindBinding(data)
	if err != nil || bd.Gen == 0 {
		return fmt.Errorf("taken binding %+v, %v", bd, err)
	}
	if between != nil {
		between()
	}
	v, _ := record.EncodeBinding(nil, bd)
	d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
		Set: []record.Entry{{Key: record.BindingKey, Value: v}}}
	return b.SaveDelta(t.Context(), to, d)
}

func userKeys(t *testing.T, s *filestore.Store, user string) []string {
	t.Helper()
	recs, err := s.UserSessions(t.Context(), record.UserKey(user))
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", user, err)
	}
	var keys []string
	for _, r := range recs {
		keys = append(keys, r.Key)
	}
	slices.Sort(keys)
	return keys
}

// TestFileStoreUsersTwoStores binds through one Store, renews and
// destroys through another on the same directory (the index and its
// locks are in the directory, shared by every store and process using
// it), and races a carried Renew against DeleteUserSessions across them.
func TestFileStoreUsersTwoStores(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no cross-process locking on Windows")
	}
	dir := t.TempDir()
	s1 := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	s2 := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	exp := time.Now().Add(time.Hour)
	bindKey(t, s1, "k1", "hana", "h1", exp)
	bindKey(t, s1, "k2", "hana", "h2", exp)
	if err := carry(t, s1, s2, "k1", "k1b", exp, nil); err != nil {
		t.Fatalf("Renew through the second store: %v", err)
	}
	if got := userKeys(t, s1, "hana"); !slices.Equal(got, []string{"k1b", "k2"}) {
		t.Errorf("hana's keys through the first store: %q", got)
	}
	// Destroyed through s2 between the take through s1 and the insert.
	err := carry(t, s1, s1, "k1b", "k1c", exp, func() {
		// The device is caught mid-Renew: counted, since its Renew fails.
		hs, err := s2.DeleteUserSessions(t.Context(), record.UserKey("hana"), func(h string) bool { return h == "h1" })
		if err != nil || !slices.Equal(hs, []string{"h1"}) {
			t.Errorf("DeleteUserSessions of a device mid-Renew = %q, %v; want [h1]", hs, err)
		}
	})
	if !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("Renew after the destroy through the other store: %v, want ErrSessionGone", err)
	}
	if got := userKeys(t, s2, "hana"); !slices.Equal(got, []string{"k2"}) {
		t.Errorf("hana's keys: %q, want [k2]", got)
	}

	for i := range 30 {
		user := fmt.Sprintf("racer-%d", i)
		from, to := fmt.Sprintf("r%d-a", i), fmt.Sprintf("r%d-b", i)
		bindKey(t, s1, from, user, "h", exp)
		// Take first (a Take racing the destroy may just find nothing),
		// then race the insert carrying the binding against the destroy.
		var wg sync.WaitGroup
		var renewErr error
		took := make(chan struct{})
		release := make(chan struct{})
		var once sync.Once
		signal := func() { once.Do(func() { close(took) }) }
		wg.Go(func() {
			defer signal() // also when the Take fails
			renewErr = carry(t, s1, s1, from, to, exp, func() { signal(); <-release })
		})
		<-took
		wg.Go(func() {
			close(release)
			if _, err := s2.DeleteUserSessions(t.Context(), record.UserKey(user), func(string) bool { return true }); err != nil {
				t.Errorf("DeleteUserSessions: %v", err)
			}
		})
		wg.Wait()
		if renewErr != nil && !errors.Is(renewErr, core.ErrSessionGone) {
			t.Errorf("round %d: Renew failed with %v", i, renewErr)
		}
		if _, found, err := s2.Load(t.Context(), to); err != nil || found {
			t.Fatalf("round %d: a session survived DeleteUserSessions racing its Renew (renew err %v; found %v, %v)", i, renewErr, found, err)
		}
		if keys := userKeys(t, s1, user); len(keys) != 0 {
			t.Errorf("round %d: %q left", i, keys)
		}
	}
}

// TestFileStoreUsersManagerRace races Renews of a logged-in device
// against log out everywhere through the manager: once both are done the
// device is logged out, whichever came first.
func TestFileStoreUsersManagerRace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	m := fileManager(newTestFileStore(t, dir, filestore.WithCleanupInterval(0)))
	m2 := fileManager(newTestFileStore(t, dir, filestore.WithCleanupInterval(0)))
	for i := range 15 {
		user := fmt.Sprintf("user-%d", i)
		d := fileLogin(t, m, user)
		var wg sync.WaitGroup
		var renewed userDev
		var renewErr error
		wg.Go(func() { renewed, renewErr = fileRenew(t, m, d) })
		wg.Go(func() {
			if _, err := m2.DestroyUserSessions(t.Context(), user); err != nil {
				t.Errorf("DestroyUserSessions: %v", err)
			}
		})
		wg.Wait()
		if renewErr != nil && !errors.Is(renewErr, core.ErrSessionGone) {
			t.Errorf("round %d: Renew: %v", i, renewErr)
		}
		for _, tok := range []userDev{d, renewed} {
			if fileLoggedIn(t, m, tok, user) {
				t.Fatalf("round %d: a device is logged in after log out everywhere (renew err %v)", i, renewErr)
			}
		}
		if hs := fileHandles(t, m2, user); len(hs) != 0 {
			t.Errorf("round %d: %q listed", i, hs)
		}
	}
}

// TestFileStoreUsersPrune checks what prunes entries: Cleanup after
// expiry, UserSessions and Cleanup for an entry whose session file is
// gone, but not an entry of a record just taken, which a Renew still
// carries on; and that Clear removes the index with the sessions.
func TestFileStoreUsersPrune(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)

	short := time.Now().Add(200 * time.Millisecond)
	bindKey(t, st, "lapsing", "ivy", "hl", short)
	bindKey(t, st, "lost", "ivy", "hm", exp)
	bindKey(t, st, "taken", "ivy", "ht", exp)
	bindKey(t, st, "kept", "ivy", "hk", exp)

	// A session file lost by hand (or a crash between the file and the
	// entry): its entry is stale.
	name := sha256.Sum256([]byte("lost"))
	if err := os.Remove(filepath.Join(dir, hex.EncodeToString(name[:]))); err != nil {
		t.Fatal(err)
	}
	// Entries bound long ago; then the Take marks its record's entry as
	// just taken.
	old := time.Now().Add(-2 * time.Minute)
	for _, h := range []string{"hl", "hm", "ht", "hk"} {
		if err := os.Chtimes(entryOf(dir, "ivy", h), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, found, err := st.Take(ctx, "taken"); err != nil || !found {
		t.Fatalf("Take: %v, %v", found, err)
	}
	if got := userKeys(t, st, "ivy"); !slices.Equal(got, []string{"kept", "lapsing"}) {
		t.Errorf("ivy's keys: %q", got)
	}
	wantEntry(t, dir, "ivy", "hm", false) // pruned by the listing
	wantEntry(t, dir, "ivy", "ht", true)  // kept for the Renew in flight

	time.Sleep(time.Until(short) + 50*time.Millisecond)
	if n, err := st.Cleanup(ctx); err != nil || n != 1 {
		t.Errorf("Cleanup = %d, %v; want 1", n, err)
	}
	wantEntry(t, dir, "ivy", "hl", false) // its session expired
	wantEntry(t, dir, "ivy", "ht", true)
	wantEntry(t, dir, "ivy", "hk", true)

	// The Renew comes: the entry names the new key.
	v, _ := record.EncodeBinding(nil, record.Binding{User: "ivy", Handle: "ht", Gen: 1})
	if err := st.SaveDelta(ctx, "taken-2", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
		Set: []record.Entry{{Key: record.BindingKey, Value: v}}}); err != nil {
		t.Fatalf("the Renew after Cleanup: %v", err)
	}
	if got := userKeys(t, st, "ivy"); !slices.Equal(got, []string{"kept", "taken-2"}) {
		t.Errorf("ivy's keys after the Renew: %q", got)
	}

	// A take whose Renew never came: pruned once the grace is over.
	if _, found, err := st.Take(ctx, "taken-2"); err != nil || !found {
		t.Fatal(found, err)
	}
	if err := os.Chtimes(entryOf(dir, "ivy", "ht"), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	wantEntry(t, dir, "ivy", "ht", false)
	if got := entryNames(t, dir, "ivy"); len(got) != 1 {
		t.Errorf("ivy's index holds %q, want one entry", got)
	}

	// An unbound or rebound record's old entry is stale; a rebind is
	// filed under the new user.
	d := &record.Delta{Expiry: exp, Set: []record.Entry{{Key: record.BindingKey, Value: mustBinding(t, "jack", "hj")}}}
	if err := st.SaveDelta(ctx, "kept", d); err != nil {
		t.Fatal(err)
	}
	if got := userKeys(t, st, "ivy"); len(got) != 0 {
		t.Errorf("ivy still lists %q after a rebind", got)
	}
	if got := userKeys(t, st, "jack"); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("jack lists %q", got)
	}
	if err := os.Chtimes(entryOf(dir, "ivy", "hk"), old, old); err == nil {
		if _, err := st.Cleanup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Lstat(userDirOf(dir, "ivy")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ivy's index directory is left after its last entry went: %v", err)
	}

	// Clear removes the index too.
	bindKey(t, st, "more", "jack", "h2", exp)
	if err := st.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if got := userKeys(t, st, "jack"); len(got) != 0 {
		t.Errorf("after Clear jack lists %q", got)
	}
	if got := entryNames(t, dir, "jack"); len(got) != 0 {
		t.Errorf("after Clear jack's index holds %q", got)
	}
	// A carried binding of a cleared session is refused.
	v, _ = record.EncodeBinding(nil, record.Binding{User: "jack", Handle: "h2", Gen: 1})
	err := st.SaveDelta(ctx, "more-2", &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
		Set: []record.Entry{{Key: record.BindingKey, Value: v}}})
	if !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("Renew after Clear: %v, want ErrSessionGone", err)
	}
}

func mustBinding(t *testing.T, user, handle string) []byte {
	t.Helper()
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFileStoreUsersBadKey checks that a user key record.UserKey cannot
// return (a path, say) is refused, not looked up.
func TestFileStoreUsersBadKey(t *testing.T) {
	t.Parallel()
	st := newTestFileStore(t, t.TempDir(), filestore.WithCleanupInterval(0))
	for _, uk := range []string{"", "../../etc", "ABCDEF", record.UserKey("x") + "/.."} {
		if _, err := st.UserSessions(t.Context(), uk); err == nil {
			t.Errorf("UserSessions(%q) succeeded", uk)
		}
		if _, err := st.DeleteUserSessions(t.Context(), uk, func(string) bool { return true }); err == nil {
			t.Errorf("DeleteUserSessions(%q) succeeded", uk)
		}
	}
	st.Close()
	if _, err := st.UserSessions(t.Context(), record.UserKey("x")); !errors.Is(err, core.ErrClosed) {
		t.Errorf("UserSessions after Close: %v", err)
	}
	if _, err := st.DeleteUserSessions(t.Context(), record.UserKey("x"), func(string) bool { return true }); !errors.Is(err, core.ErrClosed) {
		t.Errorf("DeleteUserSessions after Close: %v", err)
	}
}

const (
	usersHelperDirEnv = "SESSIONKIT_FILESTORE_USERS_HELPER_DIR"
	usersHelperIDEnv  = "SESSIONKIT_FILESTORE_USERS_HELPER_ID"
	usersHelperRounds = 60
)

// TestFileStoreUsersMultiProcess runs two copies of the test binary that
// bind sessions of one user (new ones, existing ones) and renew them,
// while this process destroys and lists the user's sessions in a loop.
// Afterwards every live session bound to the user must be in the index:
// a destroy or a prune running between a bind's entry and its record in
// another process would leave one out.
func TestFileStoreUsersMultiProcess(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no cross-process locking on Windows")
	}
	if testing.Short() {
		t.Skip("starts two processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for id := range 2 {
		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestFileStoreUsersHelperProcess$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), usersHelperDirEnv+"="+dir, usersHelperIDEnv+"="+strconv.Itoa(id))
		out := new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		uk := record.UserKey("mp")
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := st.DeleteUserSessions(t.Context(), uk, func(string) bool { return true }); err != nil {
				t.Errorf("DeleteUserSessions: %v", err)
				return
			}
			if _, err := st.UserSessions(t.Context(), uk); err != nil {
				t.Errorf("UserSessions: %v", err)
				return
			}
			if _, err := st.Cleanup(t.Context()); err != nil {
				t.Errorf("Cleanup: %v", err)
				return
			}
		}
	})
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper %d: %v\n%s", i, err, outs[i])
		} else if !strings.Contains(outs[i].String(), "helper done") {
			t.Errorf("helper %d did not run:\n%s", i, outs[i])
		}
	}
	close(done)
	wg.Wait()

	indexed := map[string]bool{}
	for _, k := range userKeys(t, st, "mp") {
		indexed[k] = true
	}
	bound := 0
	err = st.Iterate(t.Context(), func(key string, data []byte) bool {
		if b, ok, _ := record.FindBinding(data); ok && b.User == "mp" {
			bound++
			if !indexed[key] {
				t.Errorf("the live session %q bound to %+v is missing from the index", key, b)
			}
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sessions left bound, %d indexed", bound, len(indexed))
	if _, err := st.DeleteUserSessions(t.Context(), record.UserKey("mp"), func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	err = st.Iterate(t.Context(), func(key string, data []byte) bool {
		if b, ok, _ := record.FindBinding(data); ok && b.User == "mp" {
			t.Errorf("%q bound to mp survived DeleteUserSessions", key)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFileStoreUsersHelperProcess is the child of
// TestFileStoreUsersMultiProcess; it does nothing in a normal test run.
func TestFileStoreUsersHelperProcess(t *testing.T) {
	dir := os.Getenv(usersHelperDirEnv)
	if dir == "" {
		t.Skip("helper process of TestFileStoreUsersMultiProcess")
	}
	id := os.Getenv(usersHelperIDEnv)
	s := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for i := range usersHelperRounds {
		key, handle := fmt.Sprintf("p%s-%d", id, i), fmt.Sprintf("h%s-%d", id, i)
		bind := &record.Delta{Expiry: exp, Set: []record.Entry{{Key: record.BindingKey, Value: mustBinding(t, "mp", handle)}}}
		if i%2 == 0 {
			// Bind an existing session: entry before record.
			if err := s.Save(ctx, key, fileTestRecord(exp, "a", "1"), exp); err != nil {
				t.Fatal(err)
			}
		} else {
			bind.Create, bind.Header = true, record.NewHeader(false, time.Now(), exp)
		}
		if err := s.SaveDelta(ctx, key, bind); err != nil && !errors.Is(err, core.ErrSessionGone) {
			t.Fatalf("bind %s: %v", key, err)
		}
		if i%3 == 0 {
			if err := carry(t, s, s, key, key+"-r", exp, nil); err != nil && !errors.Is(err, core.ErrSessionGone) && !strings.Contains(err.Error(), "Take") {
				t.Fatalf("renew %s: %v", key, err)
			}
		}
	}
	t.Log("helper done")
}

// TestFileStoreUsersWritersInFlight destroys a user's sessions while
// writers keep saving them (deltas, rebinding deltas, touches, Renews
// carrying the binding to new keys): once DeleteUserSessions has returned
// none of them loads, under any key, and no write that started after it
// succeeds.
func TestFileStoreUsersWritersInFlight(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	other := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	ctx := t.Context()
	const n = 6
	var (
		mu      sync.Mutex
		all     []string
		wg      sync.WaitGroup
		stop    atomic.Bool
		deleted atomic.Bool
		after   atomic.Int64
	)
	snapshot := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(all)
	}
	for i := range n {
		key, h := fmt.Sprintf("w%d", i), fmt.Sprintf("h%d", i)
		exp := time.Now().Add(time.Hour)
		bindKey(t, st, key, "walt", h, exp)
		mu.Lock()
		all = append(all, key)
		mu.Unlock()
		s := []*filestore.Store{st, other}[i%2]
		wg.Go(func() {
			for j := 0; !stop.Load(); j++ {
				was := deleted.Load()
				exp := time.Now().Add(time.Hour)
				var err error
				switch j % 4 {
				case 0:
					err = s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: []record.Entry{{Key: "n", Value: record.EncodeEntry(nil, time.Time{}, []byte("v"))}}})
				case 1:
					v, _ := record.EncodeBinding(nil, record.Binding{User: "walt", Handle: h, Gen: 1})
					err = s.SaveDelta(ctx, key, &record.Delta{Expiry: exp, Set: []record.Entry{{Key: record.BindingKey, Value: v}}})
				case 2:
					if err = s.Touch(ctx, key, exp); err == nil {
						if _, found, _ := s.Load(ctx, key); !found {
							err = core.ErrSessionGone
						}
					}
				case 3:
					nk := fmt.Sprintf("%s-%d", key, j)
					if err = carry(t, s, s, key, nk, exp, nil); err == nil {
						mu.Lock()
						all = append(all, nk)
						mu.Unlock()
						key = nk
					}
				}
				if err == nil && was {
					after.Add(1)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := other.DeleteUserSessions(ctx, record.UserKey("walt"), func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	deleted.Store(true)
	for _, k := range snapshot() {
		if _, found, _ := st.Load(ctx, k); found {
			t.Errorf("right after DeleteUserSessions %s loads", k)
		}
	}
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	for _, k := range snapshot() {
		if _, found, _ := st.Load(ctx, k); found {
			t.Errorf("a write in flight brought back %s", k)
		}
	}
	if keys := userKeys(t, st, "walt"); len(keys) != 0 {
		t.Errorf("walt lists %q", keys)
	}
	if a := after.Load(); a != 0 {
		t.Errorf("%d writes succeeded on destroyed sessions", a)
	}
	t.Logf("%d keys written", len(snapshot()))
}

// TestFileStoreUsersMidRenewCount checks what DeleteUserSessions counts of
// a device whose record was taken: one taken just now (mid-Renew, logged
// out by the destroy), not one taken long ago (a Renew that never came).
func TestFileStoreUsersMidRenewCount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	exp := time.Now().Add(time.Hour)
	bindKey(t, st, "now", "nina", "h-now", exp)
	bindKey(t, st, "long-ago", "nina", "h-old", exp)
	bindKey(t, st, "live", "nina", "h-live", exp)
	old := time.Now().Add(-2 * time.Minute)
	for _, h := range []string{"h-now", "h-old", "h-live"} {
		if err := os.Chtimes(entryOf(dir, "nina", h), old, old); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"now", "long-ago"} {
		if _, found, err := st.Take(t.Context(), k); err != nil || !found {
			t.Fatal(found, err)
		}
	}
	if err := os.Chtimes(entryOf(dir, "nina", "h-old"), old, old); err != nil {
		t.Fatal(err)
	}
	hs, err := st.DeleteUserSessions(t.Context(), record.UserKey("nina"), func(string) bool { return true })
	slices.Sort(hs)
	if err != nil || !slices.Equal(hs, []string{"h-live", "h-now"}) {
		t.Errorf("DeleteUserSessions = %q, %v; want [h-live h-now]", hs, err)
	}
	if got := entryNames(t, dir, "nina"); len(got) != 0 {
		t.Errorf("entries left: %q", got)
	}
}

// TestFileStoreUsersClearRacesLogins runs Clear while sessions are bound:
// a login that survives Clear keeps its index entry.
func TestFileStoreUsersClearRacesLogins(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	other := newTestFileStore(t, dir, filestore.WithCleanupInterval(0))
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			exp := time.Now().Add(time.Hour)
			for i := 0; !stop.Load(); i++ {
				v, _ := record.EncodeBinding(nil, record.Binding{User: "cleo", Handle: fmt.Sprintf("h%d-%d", w, i)})
				d := &record.Delta{Create: true, Header: record.NewHeader(false, time.Now(), exp), Expiry: exp,
					Set: []record.Entry{{Key: record.BindingKey, Value: v}}}
				if err := []*filestore.Store{st, other}[w].SaveDelta(t.Context(), fmt.Sprintf("c%d-%d", w, i), d); err != nil {
					t.Errorf("login: %v", err)
					return
				}
			}
		})
	}
	for range 5 {
		time.Sleep(10 * time.Millisecond)
		if err := st.Clear(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	indexed := map[string]bool{}
	for _, k := range userKeys(t, st, "cleo") {
		indexed[k] = true
	}
	live := 0
	if err := st.Iterate(t.Context(), func(key string, _ []byte) bool {
		live++
		if !indexed[key] {
			t.Errorf("%s survived Clear without its index entry", key)
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if live != len(indexed) {
		t.Errorf("%d live sessions, %d indexed", live, len(indexed))
	}
}
