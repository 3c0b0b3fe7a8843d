package cachedstore

import (
	"context"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

var _ core.UserStore = (*Store)(nil)

// UserSessions returns the backing store's [core.UserStore.UserSessions],
// or an error matching [core.ErrNotSupported] when it has no user index
// (the manager then scans with Iterate). It neither reads nor fills the
// cache.
func (c *Store) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	if err := c.begin(ctx, "user sessions"); err != nil {
		return nil, err
	}
	if us, ok := c.backing.(core.UserStore); ok {
		return us.UserSessions(ctx, userKey)
	}
	return nil, notSupported(c.backing, "user sessions")
}

// DeleteUserSessions deletes the user's sessions with the backing store's
// [core.UserStore.DeleteUserSessions], or returns an error matching
// [core.ErrNotSupported] when it has no user index. Either way it then
// drops every cached copy bound to that user whose handle match accepts,
// and keeps any Load in flight from caching what it read before: once it
// returns this process never serves a destroyed session from its cache.
// Other processes' caches serve their copies until the staleness bound
// (see [WithMaxStale]) passes.
func (c *Store) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	if err := c.begin(ctx, "delete user sessions"); err != nil {
		return nil, err
	}
	var handles []string
	err := notSupported(c.backing, "delete user sessions")
	if us, ok := c.backing.(core.UserStore); ok {
		handles, err = us.DeleteUserSessions(ctx, userKey, match)
	}
	c.dropUser(userKey, match)
	return handles, err
}

// dropUser drops the cached copies bound to the user key uk whose handle
// match accepts, and bumps every generation, so that a Load in flight,
// which may have read one of them before the delete, caches nothing.
func (c *Store) dropUser(uk string, match func(string) bool) {
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for e := sh.list.next; e != &sh.list; {
			next := e.next
			if b, bound, err := record.FindBinding(e.data); err == nil && bound && record.UserKey(b.User) == uk && match(b.Handle) {
				sh.remove(e)
			}
			e = next
		}
		for j := range sh.gens {
			sh.gens[j]++
		}
		sh.mu.Unlock()
	}
}
