package core

import (
	"context"
	"time"
)

// RemainingTTL reports how long the session with the given token has left
// before it expires in the store.
func (m *Manager) RemainingTTL(ctx context.Context, token string) (time.Duration, bool, error) {
	if !validID(token) {
		return 0, false, nil
	}
	return storeTTL(ctx, m.store, storeKey(token), m.cfg.clock())
}

// Count returns the number of live sessions, or an error wrapping
// [ErrNotSupported] when the store cannot count.
func (m *Manager) Count(ctx context.Context) (int, error) { return count(ctx, m.store) }

// DeleteAll deletes every session of the store, every user's, or returns
// an error wrapping [ErrNotSupported] when the store cannot. It is not
// [Session.Clear], which empties one session.
func (m *Manager) DeleteAll(ctx context.Context) error { return clearAll(ctx, m.store) }

// Iterate calls fn with the store key and a read-only snapshot of every
// live session, until fn returns false. Snapshots have no ID (the store
// only knows hashed keys) and changes to them are not saved: delete a
// session with [Manager.DeleteKey]. It returns an error wrapping
// [ErrNotSupported] when the store cannot iterate. Undecodable records are
// skipped.
func (m *Manager) Iterate(ctx context.Context, fn func(key string, s *Session) bool) error {
	now := m.cfg.clock()
	return iterate(ctx, m.store, func(key string, data []byte) bool {
		s := m.newSession(ctx, false)
		if err := m.decode(s, data, now); err != nil || now.UnixNano() >= s.expiry {
			return true
		}
		return fn(key, s)
	})
}

// DeleteKey deletes the session stored under key, as given by
// [Manager.Iterate] or [StoreKey]. To log a user out everywhere, bind
// sessions with [Session.SetUser] and use [Manager.DestroyUserSessions].
func (m *Manager) DeleteKey(ctx context.Context, key string) error {
	return m.store.Delete(ctx, key)
}
