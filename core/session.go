package core

import (
	"slices"
	"sync"
	"time"
)

// flashKey holds the pending flash messages. Keys starting with a NUL byte
// are internal: Keys does not list them.
const flashKey = "\x00flash"

type itemState uint8

const (
	stateClean   itemState = iota // as loaded
	stateSet                      // set by this request: saved at commit
	stateDeleted                  // deleted by this request: removed at commit
)

type item struct {
	key      string
	val      any
	deadline int64 // the key's own deadline in Unix nanoseconds; 0: none
	size     int32 // bytes the entry takes in the stored record, as loaded or last encoded
	state    itemState
}

// Session is one user's session during one request. It is created by the
// middleware (or [Manager.Load]) and committed by it; handlers get it with
// [FromContext] or their framework's Get. Changes are kept in memory and
// saved as a delta when the response is committed, so two requests that
// change different keys both keep their changes.
//
// A Session is safe for use by several goroutines of one request. It must
// not be kept after the request ends.
type Session struct {
	mu sync.Mutex
	m  *Manager

	id  string // current ID; "" for a session not created yet
	key string // store key of id

	// Times in Unix nanoseconds (0: none), as in the record: 32 bytes
	// fewer than two time.Time in a struct allocated on every request.
	created int64
	expiry  int64 // effective deadline as loaded or last saved

	items []item
	outer *Session

	// The user binding (see [Session.SetUser]), kept in the record under
	// [record.BindingKey] rather than among items: Clear keeps it.
	user   string
	handle string
	gen    uint64 // the store's generation of the binding, as loaded

	// prevUser and prevHandle are the binding Destroy dropped, for its
	// event.
	prevUser, prevHandle string

	// pending holds the events of a commit until the session's lock is
	// released; nil unless the manager has [WithEvents].
	pending []Event

	exists     bool // a record exists under key (loaded, or saved by a commit)
	carried    bool // the request carried a token (for Vary)
	remember   bool
	rememberCh bool // SetRemember changed the flag: the header is rewritten
	cleared    bool // Clear or Destroy: stored entries are dropped at commit
	renew      bool
	destroy    bool
	touched    bool // modified since the last commit
	bindCh     bool // SetUser changed the binding: it is written at commit
	committed  bool // the response's headers were committed

	// itemsBuf backs items for sessions of up to three keys, which covers
	// the common user ID, CSRF token and flash without a second
	// allocation, and delta is the room of a commit's delta (see
	// commitDelta): with them the usual request allocates its session,
	// its context and the middleware's writer at once (a 640-byte size
	// class) and nothing more for its session's items or delta.
	itemsBuf [3]item
	delta    commitDelta
}

func (s *Session) find(key string) int {
	for i := range s.items {
		if s.items[i].key == key {
			return i
		}
	}
	return -1
}

func (s *Session) live(it *item, now func() time.Time) bool {
	if it.state == stateDeleted {
		return false
	}
	return it.deadline == 0 || now().UnixNano() < it.deadline
}

// ID returns the session's ID, or "" for a new session that has not been
// committed yet. After [Session.Renew] it returns the new ID once the
// session is committed. The ID is a bearer credential: never log it.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.destroy || s.renew {
		return ""
	}
	return s.id
}

// Get returns the value stored under key and whether it is present. A key
// whose own timeout (see [Session.SetWithTTL]) has passed is absent.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.find(key); i >= 0 && s.live(&s.items[i], s.m.cfg.clock) {
		return s.items[i].val, true
	}
	return nil, false
}

// GetAs returns the value stored under key if it is present and of type T.
func GetAs[T any](s *Session, key string) (T, bool) {
	v, ok := s.Get(key)
	t, ok2 := v.(T)
	return t, ok && ok2
}

// Set stores v under key. The value must be encodable by the manager's
// codec; one that is not makes the commit fail with an error naming its
// type.
func (s *Session) Set(key string, v any) {
	s.set(key, v, 0)
}

// SetWithTTL stores v under key for at most ttl: afterwards the key reads
// as absent everywhere. A key never outlives its session. A ttl <= 0
// deletes the key.
func (s *Session) SetWithTTL(key string, v any, ttl time.Duration) {
	if ttl <= 0 {
		s.Delete(key)
		return
	}
	s.set(key, v, s.m.cfg.clock().Add(ttl).UnixNano())
}

func (s *Session) set(key string, v any, deadline int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setLocked(key, v, deadline)
}

func (s *Session) setLocked(key string, v any, deadline int64) {
	s.touched = true
	if i := s.find(key); i >= 0 {
		s.items[i] = item{key: key, val: v, deadline: deadline, state: stateSet}
		return
	}
	s.items = append(s.items, item{key: key, val: v, deadline: deadline, state: stateSet})
}

// Delete removes key from the session.
func (s *Session) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteLocked(key)
}

func (s *Session) deleteLocked(key string) {
	i := s.find(key)
	if i >= 0 && s.items[i].state == stateDeleted {
		return
	}
	s.touched = true
	if i >= 0 {
		s.items[i] = item{key: key, state: stateDeleted}
		return
	}
	s.items = append(s.items, item{key: key, state: stateDeleted})
}

// Keys returns the keys present in the session, sorted.
func (s *Session) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for i := range s.items {
		if it := &s.items[i]; s.live(it, s.m.cfg.clock) && (it.key == "" || it.key[0] != 0) {
			keys = append(keys, it.key)
		}
	}
	slices.Sort(keys)
	return keys
}

// Clear removes every key from the session. The session itself, its ID
// and its deadlines stay.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = s.items[:0]
	s.cleared = true
	s.touched = true
}

// Renew gives the session a new ID and keeps its data and its absolute
// lifetime; the record under the old ID is deleted. Call it when the
// user's privileges change (login, logout, sudo) to defeat session
// fixation. It takes effect when the session is committed. With a store
// that implements [TakeStore] (the stores of this project all do) the old
// record is taken atomically, so of two concurrent Renews of one session
// only one succeeds; a store with only the three [Store] methods gets the
// best effort (load, then delete), where both may succeed and fork the
// session in two.
func (s *Session) Renew() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renew = true
	s.touched = true
}

// Destroy deletes the session: at commit its record is deleted and its
// cookie expired. Values set after Destroy in the same request start a new
// session with a new ID (a "you have been logged out" flash, say).
func (s *Session) Destroy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.destroy {
		s.prevUser, s.prevHandle = s.user, s.handle
	}
	s.destroy = true
	s.renew = false
	s.items = s.items[:0]
	s.cleared = true
	s.remember = false
	s.user, s.handle, s.gen, s.bindCh = "", "", 0, false
	s.touched = true
}

// SetRemember switches remember-me on or off. On, the session and its
// cookie use the remember timeout (see [WithRememberTimeout]) and the
// cookie persists across browser restarts; off, the idle timeout and a
// browser-session cookie (unless [Cookie.Persist]).
func (s *Session) SetRemember(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.remember == on {
		return // unchanged: nothing to write, no cookie to send
	}
	s.remember = on
	s.rememberCh = true
	s.touched = true
}

// Remember reports whether remember-me is on.
func (s *Session) Remember() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remember
}

// AddFlash adds a one-time message, returned (and removed) by the next
// call to [Session.Flashes], usually on the next request.
func (s *Session) AddFlash(v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []any
	if i := s.find(flashKey); i >= 0 && s.live(&s.items[i], s.m.cfg.clock) {
		list, _ = s.items[i].val.([]any)
	}
	s.setLocked(flashKey, append(slices.Clip(list), v), 0)
}

// Flashes returns the pending flash messages and removes them. It returns
// nil, and does not modify the session, when there are none.
func (s *Session) Flashes() []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(flashKey)
	if i < 0 || !s.live(&s.items[i], s.m.cfg.clock) {
		return nil
	}
	list, _ := s.items[i].val.([]any)
	s.deleteLocked(flashKey)
	return list
}

// Expiry returns the session's current deadline (the earlier of its idle
// and absolute deadlines), or the zero time for a session not saved yet.
func (s *Session) Expiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return timeOf(s.expiry)
}

// SetUser binds the session to the user with the given ID, or unbinds it
// when id is "". A bound session is found by [Manager.UserSessions] and
// destroyed by [Manager.DestroyUserSessions] and [Manager.DestroySession]:
// bind it at login, together with [Session.Renew]. The binding is saved at
// commit, survives Renew and Clear, and goes with Destroy and expiry.
// Binding to another user gives the session a new handle; binding to the
// user it is bound to already changes nothing. The record keeps id (as
// [Session.User] returns it): use a stable identifier, not a secret.
func (s *Session) SetUser(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == s.user {
		return
	}
	s.user, s.gen, s.handle = id, 0, ""
	if id != "" {
		s.handle = newHandle()
	}
	s.bindCh = true
	s.touched = true
}

// User returns the ID of the user the session is bound to, or "" when it
// is bound to none.
func (s *Session) User() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// Handle returns the session's handle: a stable name for it, made when it
// is bound to a user and kept by Renew, or "" for a session bound to no
// user. A handle is random and unrelated to the session's ID, so it is
// safe to render and post back (a "log out this device" button), and
// useless as a credential: it can name a session to
// [Manager.DestroySession] only together with the user it belongs to.
// [SessionInfo.Handle] is the same name.
func (s *Session) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handle
}

// Modified reports whether the session has changes that the next commit
// will save.
func (s *Session) Modified() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.touched
}
