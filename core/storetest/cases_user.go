package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// BoundRecord returns an encoded record like [Record] that is bound to
// user with the given handle and generation (0: a new binding, which the
// store stamps; see [record.Binding]).
func BoundRecord(expiry time.Time, user, handle string, gen uint64, kv ...string) []byte {
	return record.Append(nil, Header(false, expiry), append(Entries(kv...), BindingEntry(user, handle, gen)))
}

// BindingEntry returns the entry under [record.BindingKey] that binds a
// record to user with the given handle and generation. It panics when user
// is empty or handle is empty or over 255 bytes.
func BindingEntry(user, handle string, gen uint64) record.Entry {
	v, err := record.EncodeBinding(nil, record.Binding{User: user, Handle: handle, Gen: gen})
	if err != nil {
		panic(err)
	}
	return record.Entry{Key: record.BindingKey, Value: v}
}

// userStore returns s as a [core.UserStore], or skips t.
func userStore(t *testing.T, s core.Store) core.UserStore {
	t.Helper()
	us, ok := s.(core.UserStore)
	if !ok {
		t.Skipf("%T has no user index", s)
	}
	if _, err := us.UserSessions(t.Context(), record.UserKey("probe")); notSupported(t, "UserSessions", err) {
		t.SkipNow()
	}
	return us
}

// bind creates the session key bound to user under handle, as the
// manager's first commit after SetUser does: an insert-if-absent delta
// whose binding has generation 0.
func bind(t *testing.T, s core.Store, key, user, handle string, exp time.Time) {
	t.Helper()
	d := &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp,
		Set: append(Entries("k", key), BindingEntry(user, handle, 0))}
	if err := saveDelta(t.Context(), s, key, d, time.Now()); err != nil {
		t.Fatalf("bind %q to %q: %v", key, user, err)
	}
}

// binding returns the binding of the live record under key.
func binding(t *testing.T, s core.Store, key string) (record.Binding, bool) {
	t.Helper()
	b, found, err := record.FindBinding(load(t, s, key))
	if err != nil {
		t.Fatalf("binding of %q: %v", key, err)
	}
	return b, found
}

// wantUser fails t unless UserSessions of user lists exactly the handles
// want, each with the record under its key bound to user.
func wantUser(t *testing.T, us core.UserStore, user string, want ...string) {
	t.Helper()
	recs, err := us.UserSessions(t.Context(), record.UserKey(user))
	if err != nil {
		t.Fatalf("UserSessions(%s): %v", user, err)
	}
	var got []string
	for _, r := range recs {
		b, found, err := record.FindBinding(r.Data)
		if err != nil || !found || b.User != user {
			t.Errorf("UserSessions(%s) returned the record under %q bound to %+v (found %v, err %v)", user, r.Key, b, found, err)
			continue
		}
		got = append(got, b.Handle)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("UserSessions(%s) = handles %q, want %q", user, got, want)
	}
}

func deleteUser(t *testing.T, us core.UserStore, user string, except ...string) []string {
	t.Helper()
	hs, err := us.DeleteUserSessions(t.Context(), record.UserKey(user), func(h string) bool { return !slices.Contains(except, h) })
	if err != nil {
		t.Fatalf("DeleteUserSessions(%s): %v", user, err)
	}
	slices.Sort(hs)
	return hs
}

// testUserIndex checks listing and destroying a user's sessions: three
// devices of one user, another user's device and an unbound session.
func testUserIndex(t *testing.T, s core.Store) {
	us := userStore(t, s)
	exp := at(time.Hour)
	for i := range 3 {
		bind(t, s, fmt.Sprintf("alice-%d", i), "alice", fmt.Sprintf("h%d", i), exp)
	}
	bind(t, s, "bob-0", "bob", "h0", exp) // the same handle, another user
	save(t, s, "anon", Record(exp, "a", "1"), exp)

	for i := range 3 {
		b, found := binding(t, s, fmt.Sprintf("alice-%d", i))
		if !found || b.User != "alice" || b.Handle != fmt.Sprintf("h%d", i) {
			t.Fatalf("alice-%d holds the binding %+v (found %v)", i, b, found)
		}
		if b.Gen == 0 {
			t.Errorf("alice-%d: the store did not stamp a generation into the new binding", i)
		}
	}
	wantUser(t, us, "alice", "h0", "h1", "h2")
	wantUser(t, us, "bob", "h0")
	wantUser(t, us, "carol")

	// Log out the other devices: h1 is the current one.
	if got := deleteUser(t, us, "alice", "h1"); !slices.Equal(got, []string{"h0", "h2"}) {
		t.Errorf("DeleteUserSessions(alice, except h1) = %q, want [h0 h2]", got)
	}
	wantMissing(t, s, "alice-0")
	wantMissing(t, s, "alice-2")
	load(t, s, "alice-1")
	load(t, s, "bob-0")
	load(t, s, "anon")
	wantUser(t, us, "alice", "h1")
	wantUser(t, us, "bob", "h0")

	// Revoke one device that is not the user's: nothing happens.
	if got := deleteUser(t, us, "bob", "h0"); len(got) != 0 {
		t.Errorf("DeleteUserSessions(bob) matching nothing deleted %q", got)
	}
	if got := deleteUser(t, us, "alice"); !slices.Equal(got, []string{"h1"}) {
		t.Errorf("DeleteUserSessions(alice) = %q, want [h1]", got)
	}
	wantMissing(t, s, "alice-1")
	wantUser(t, us, "alice")
	load(t, s, "bob-0")
	if got := deleteUser(t, us, "alice"); len(got) != 0 {
		t.Errorf("a second DeleteUserSessions(alice) deleted %q", got)
	}
}

// testUserBindExisting binds, rebinds and unbinds a session that exists
// already, and checks that Clear keeps the binding the delta sets again.
func testUserBindExisting(t *testing.T, s core.Store) {
	us := userStore(t, s)
	ctx := t.Context()
	exp := at(time.Hour)
	save(t, s, "sess", Record(exp, "a", "1"), exp)
	delta := func(d *record.Delta) {
		t.Helper()
		d.Expiry = exp
		if err := saveDelta(ctx, s, "sess", d, time.Now()); err != nil {
			t.Fatalf("SaveDelta: %v", err)
		}
	}
	delta(&record.Delta{Set: []record.Entry{BindingEntry("alice", "ha", 0)}})
	wantUser(t, us, "alice", "ha")
	if b, _ := binding(t, s, "sess"); b.Gen == 0 {
		t.Errorf("binding an existing record: no generation stamped")
	}
	if Values(t, load(t, s, "sess"))["a"] != "1" {
		t.Errorf("binding lost the session's data")
	}

	// An ordinary save keeps the binding.
	delta(&record.Delta{Set: Entries("b", "2")})
	wantUser(t, us, "alice", "ha")

	// Clear drops the entries but keeps the binding (see record.Delta).
	b, _ := binding(t, s, "sess")
	delta(&record.Delta{Clear: true, Set: Entries("c", "3")})
	wantUser(t, us, "alice", "ha")
	if got, _ := binding(t, s, "sess"); got != b {
		t.Errorf("after Clear the binding is %+v, want %+v", got, b)
	}
	if v := Values(t, load(t, s, "sess")); v["a"] != "" || v["b"] != "" || v["c"] != "3" {
		t.Errorf("after Clear the record holds %v, want only c", v)
	}

	// Bound to another user: listed there only, and the first user's
	// destroy leaves it alone.
	delta(&record.Delta{Set: []record.Entry{BindingEntry("bob", "hb", 0)}})
	wantUser(t, us, "alice")
	wantUser(t, us, "bob", "hb")
	if got := deleteUser(t, us, "alice"); len(got) != 0 {
		t.Errorf("DeleteUserSessions(alice) deleted %q of a session rebound to bob", got)
	}
	load(t, s, "sess")

	// Unbound: listed nowhere, still live.
	delta(&record.Delta{Delete: []string{record.BindingKey}})
	wantUser(t, us, "bob")
	if _, found := binding(t, s, "sess"); found {
		t.Errorf("the unbound record still holds a binding")
	}
	if got := deleteUser(t, us, "bob"); len(got) != 0 {
		t.Errorf("DeleteUserSessions(bob) deleted %q of an unbound session", got)
	}
	if Values(t, load(t, s, "sess"))["c"] != "3" {
		t.Errorf("the unbound session lost its data")
	}

	// A record deleted or expired is listed nowhere and destroys nothing.
	bind(t, s, "gone", "dave", "hg", exp)
	if err := s.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	lapse := at(300 * time.Millisecond)
	bind(t, s, "lapsed", "dave", "hl", lapse)
	time.Sleep(time.Until(lapse) + 50*time.Millisecond)
	wantUser(t, us, "dave")
	if got := deleteUser(t, us, "dave"); len(got) != 0 {
		t.Errorf("DeleteUserSessions(dave) = %q for a deleted and an expired session", got)
	}
}

// testUserRenew carries a binding to a new key as Renew does it (take
// the old record, create the new one with the loaded generation), and
// checks that it is refused once the user's sessions were destroyed.
func testUserRenew(t *testing.T, s core.Store) {
	us := userStore(t, s)
	exp := at(time.Hour)
	renew := func(from, to string) error {
		t.Helper()
		data, found, err := take(t.Context(), s, from, time.Now())
		if err != nil || !found {
			t.Fatalf("Take(%q): found %v, err %v", from, found, err)
		}
		b, ok, err := record.FindBinding(data)
		if err != nil || !ok {
			t.Fatalf("the taken record has no binding: %v", err)
		}
		d := &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp,
			Set: append(Entries("k", to), BindingEntry(b.User, b.Handle, b.Gen))}
		return saveDelta(t.Context(), s, to, d, time.Now())
	}

	bind(t, s, "r-1", "erin", "hr", exp)
	bind(t, s, "r-other", "erin", "ho", exp)
	if err := renew("r-1", "r-2"); err != nil {
		t.Fatalf("carrying the binding to a new key: %v", err)
	}
	wantMissing(t, s, "r-1")
	wantUser(t, us, "erin", "hr", "ho")
	if b, _ := binding(t, s, "r-2"); b.Handle != "hr" || b.User != "erin" {
		t.Errorf("the renewed record holds %+v", b)
	}
	if err := renew("r-2", "r-3"); err != nil {
		t.Fatalf("a second Renew: %v", err)
	}
	wantUser(t, us, "erin", "hr", "ho")
	if got := deleteUser(t, us, "erin", "ho"); !slices.Equal(got, []string{"hr"}) {
		t.Errorf("DeleteUserSessions(erin, except ho) = %q, want [hr]", got)
	}
	wantMissing(t, s, "r-3")

	// Destroyed between the take and the insert: the insert is refused.
	bind(t, s, "x-1", "frank", "hx", exp)
	data, found, err := take(t.Context(), s, "x-1", time.Now())
	if err != nil || !found {
		t.Fatalf("Take: found %v, err %v", found, err)
	}
	deleteUser(t, us, "frank")
	b, _, _ := record.FindBinding(data)
	d := &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp,
		Set: append(Entries("k", "x-2"), BindingEntry(b.User, b.Handle, b.Gen))}
	if err := saveDelta(t.Context(), s, "x-2", d, time.Now()); !errors.Is(err, core.ErrSessionGone) {
		t.Errorf("carrying a binding whose sessions were destroyed: %v, want ErrSessionGone", err)
	}
	wantMissing(t, s, "x-2")
	wantUser(t, us, "frank")
}

// testUserRenewRacesDestroy races a Renew carrying a binding against
// DeleteUserSessions of its user: whatever the order, nothing of the user
// is live once both have returned.
func testUserRenewRacesDestroy(t *testing.T, s core.Store) {
	us := userStore(t, s)
	exp := at(time.Hour)
	for i := range 20 {
		from, to := fmt.Sprintf("race-%d-a", i), fmt.Sprintf("race-%d-b", i)
		user := fmt.Sprintf("racer-%d", i)
		bind(t, s, from, user, "h", exp)
		data, found, err := take(t.Context(), s, from, time.Now())
		if err != nil || !found {
			t.Fatalf("Take: found %v, err %v", found, err)
		}
		b, _, _ := record.FindBinding(data)
		var wg sync.WaitGroup
		var renewErr error
		wg.Go(func() {
			d := &record.Delta{Create: true, Header: Header(false, exp), Expiry: exp,
				Set: append(Entries("k", to), BindingEntry(b.User, b.Handle, b.Gen))}
			renewErr = saveDelta(t.Context(), s, to, d, time.Now())
		})
		wg.Go(func() {
			if _, err := us.DeleteUserSessions(t.Context(), record.UserKey(user), func(string) bool { return true }); err != nil {
				t.Errorf("DeleteUserSessions: %v", err)
			}
		})
		wg.Wait()
		if renewErr != nil && !errors.Is(renewErr, core.ErrSessionGone) {
			t.Errorf("round %d: the racing Renew failed with %v, want nil or ErrSessionGone", i, renewErr)
		}
		if data, found, err := s.Load(t.Context(), to); err != nil || found {
			t.Fatalf("round %d: after DeleteUserSessions and a racing Renew (err %v) the renewed record is live (found %v, %d bytes, err %v)", i, renewErr, found, len(data), err)
		}
		wantUser(t, us, user)
	}
}
