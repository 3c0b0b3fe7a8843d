package core

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sessionkit/sessionkit/core/record"
)

// SessionInfo describes one live session of a user, as
// [Manager.UserSessions] lists it: what an "active devices" page shows.
// It holds no credential.
type SessionInfo struct {
	// Handle names the session ([Session.Handle]): compare it with the
	// current session's to mark "this device", post it back to
	// [Manager.DestroySession] to revoke that device.
	Handle string
	// User is the user the session is bound to.
	User string
	// Created is when the session was created; Renew keeps it.
	Created time.Time
	// Expires is the session's current deadline (idle or absolute,
	// whichever comes first).
	Expires time.Time
	// Remember reports whether remember-me is on.
	Remember bool
}

// ErrNoUser is returned by the user functions of [Manager] for an empty
// user ID.
var ErrNoUser = errors.New("core: empty user ID")

// UserSessions returns the live sessions bound to the user userID (see
// [Session.SetUser]), newest first. With a store that implements
// [UserStore] (the stores of this project do; see each for what its
// backend adds) it reads the user's index; otherwise it scans the store
// with [IterStore], and returns an error wrapping [ErrNotSupported] when
// the store can do neither.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	if userID == "" {
		return nil, ErrNoUser
	}
	now := m.cfg.clock()
	var out []SessionInfo
	add := func(data []byte) {
		if info, ok := m.userInfo(data, userID, now); ok {
			out = append(out, info)
		}
	}
	if us, ok := m.store.(UserStore); ok {
		recs, err := us.UserSessions(ctx, record.UserKey(userID))
		if err == nil {
			for _, r := range recs {
				add(r.Data)
			}
			return sortInfos(out), nil
		}
		if !errors.Is(err, ErrNotSupported) {
			return nil, fmt.Errorf("core: sessions of a user: %w", err)
		}
	}
	err := iterate(ctx, m.store, func(_ string, data []byte) bool {
		add(data)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("core: sessions of a user: %w", err)
	}
	return sortInfos(out), nil
}

func sortInfos(infos []SessionInfo) []SessionInfo {
	slices.SortFunc(infos, func(a, b SessionInfo) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.Handle, b.Handle)
	})
	return infos
}

// userInfo describes the record data if it is a live session bound to
// user.
func (m *Manager) userInfo(data []byte, user string, now time.Time) (SessionInfo, bool) {
	h, err := record.ParseHeader(data)
	if err != nil || !h.Expiry.After(now) {
		return SessionInfo{}, false
	}
	_, lifetime := m.timeouts(h.Remember)
	if !now.Before(h.Created.Add(lifetime)) {
		return SessionInfo{}, false
	}
	b, found, err := record.FindBinding(data)
	if err != nil || !found || b.User != user {
		return SessionInfo{}, false
	}
	return SessionInfo{Handle: b.Handle, User: b.User, Created: h.Created, Expires: h.Expiry, Remember: h.Remember}, true
}

// DestroyUserSessions destroys every live session bound to the user
// userID except those whose handles are listed in except, and returns how
// many it destroyed: "log out everywhere" (no except), or "log out other
// devices" (except the current session's [Session.Handle]), after a
// password change, say.
//
// With a store that implements [UserStore], once it returns no request
// can read a destroyed session's data, and a request in flight on one
// cannot bring it back (neither a save nor a Renew). A store without it
// gets a scan with [IterStore] and deletes what it finds: best effort, a
// session bound or renewed during the scan may escape. A store with
// neither yields an error wrapping [ErrNotSupported]. An error may come
// after some sessions were destroyed; calling again finishes the job.
//
// Each destroyed session raises an [EventDestroyed] with [CauseUser]. A
// session caught between the two steps of a Renew (its old record taken,
// the new one not yet written) is logged out too, since its Renew then
// fails with [ErrSessionGone]; stores that can tell count it (the memory
// store does), others may leave it out of the count and the events.
// Sessions of the user's that are live in the caches of other processes
// behind a [cachedstore] are served there until their staleness bound.
//
// [cachedstore]: https://pkg.go.dev/github.com/sessionkit/sessionkit/core/cachedstore
func (m *Manager) DestroyUserSessions(ctx context.Context, userID string, except ...string) (int, error) {
	if userID == "" {
		return 0, ErrNoUser
	}
	handles, err := m.deleteUser(ctx, userID, func(h string) bool { return !slices.Contains(except, h) })
	m.emitDestroyed(ctx, userID, handles, CauseUser)
	if err != nil {
		return len(handles), fmt.Errorf("core: destroy the sessions of a user: %w", err)
	}
	return len(handles), nil
}

// DestroySession destroys the session whose handle is handle, only if it
// is a live session of the user userID: a "log out this device" button
// posts the handle back, and a handle of another user's session destroys
// nothing. It returns an error matching [ErrSessionGone] when the user has
// no live session with that handle (a device revoked already, say). The
// guarantees and fallbacks are those of [Manager.DestroyUserSessions];
// the session raises an [EventDestroyed] with [CauseRevoke].
func (m *Manager) DestroySession(ctx context.Context, userID, handle string) error {
	if userID == "" {
		return ErrNoUser
	}
	if handle == "" {
		return fmt.Errorf("core: destroy session: empty handle: %w", ErrSessionGone)
	}
	handles, err := m.deleteUser(ctx, userID, func(h string) bool { return h == handle })
	m.emitDestroyed(ctx, userID, handles, CauseRevoke)
	if err != nil {
		return fmt.Errorf("core: destroy session of a user: %w", err)
	}
	if len(handles) == 0 {
		return fmt.Errorf("core: destroy session: no live session of this user has that handle: %w", ErrSessionGone)
	}
	return nil
}

// deleteUser deletes the live sessions of user whose handles match
// accepts, through the store's index or a scan.
func (m *Manager) deleteUser(ctx context.Context, user string, match func(string) bool) ([]string, error) {
	if us, ok := m.store.(UserStore); ok {
		handles, err := us.DeleteUserSessions(ctx, record.UserKey(user), match)
		if !errors.Is(err, ErrNotSupported) {
			return handles, err
		}
	}
	now := m.cfg.clock()
	type found struct{ key, handle string }
	var doomed []found
	err := iterate(ctx, m.store, func(key string, data []byte) bool {
		if info, ok := m.userInfo(data, user, now); ok && match(info.Handle) {
			doomed = append(doomed, found{key, info.Handle})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	var handles []string
	for _, d := range doomed {
		if err := m.store.Delete(ctx, d.key); err != nil {
			return handles, err
		}
		handles = append(handles, d.handle)
	}
	return handles, nil
}

func (m *Manager) emitDestroyed(ctx context.Context, user string, handles []string, cause Cause) {
	if m.cfg.events == nil {
		return
	}
	now := m.cfg.clock()
	for _, h := range handles {
		m.cfg.events(ctx, Event{Kind: EventDestroyed, Cause: cause, User: user, Handle: h, Time: now})
	}
}
