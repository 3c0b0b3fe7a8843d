package stores

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// ownedStore is a store together with the client Open made for it, which
// the store itself does not close (redisstore and memcachestore leave their
// client to its owner). It forwards every method and every optional
// capability to the inner store, returning a wrapped core.ErrNotSupported
// for a capability the inner store lacks, and its Close closes the inner
// store and then the client.
//
// An ownedStore is safe for concurrent use by multiple goroutines.
type ownedStore struct {
	inner   core.Store
	release func() error

	closed   atomic.Bool
	once     sync.Once
	closeErr error
}

var (
	_ core.DeltaStore   = (*ownedStore)(nil)
	_ core.TakeStore    = (*ownedStore)(nil)
	_ core.TouchStore   = (*ownedStore)(nil)
	_ core.TTLStore     = (*ownedStore)(nil)
	_ core.IterStore    = (*ownedStore)(nil)
	_ core.CountStore   = (*ownedStore)(nil)
	_ core.ClearStore   = (*ownedStore)(nil)
	_ core.CleanupStore = (*ownedStore)(nil)
	_ core.UserStore    = (*ownedStore)(nil)
	_ io.Closer         = (*ownedStore)(nil)
)

// check returns the error a call gets before it reaches the inner store:
// the store is closed, or ctx is done.
func (s *ownedStore) check(ctx context.Context, op string) error {
	if s.closed.Load() {
		return fmt.Errorf("stores: %s: %w", op, core.ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stores: %s: %w", op, err)
	}
	return nil
}

func (s *ownedStore) unsupported(ctx context.Context, op string) error {
	if err := s.check(ctx, op); err != nil {
		return err
	}
	return fmt.Errorf("stores: %T: %s: %w", s.inner, op, core.ErrNotSupported)
}

func (s *ownedStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.check(ctx, "load"); err != nil {
		return nil, false, err
	}
	return s.inner.Load(ctx, key)
}

func (s *ownedStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.check(ctx, "save"); err != nil {
		return err
	}
	return s.inner.Save(ctx, key, data, expiry)
}

func (s *ownedStore) Delete(ctx context.Context, key string) error {
	if err := s.check(ctx, "delete"); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key)
}

func (s *ownedStore) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if ds, ok := s.inner.(core.DeltaStore); ok {
		if err := s.check(ctx, "save delta"); err != nil {
			return err
		}
		return ds.SaveDelta(ctx, key, d)
	}
	return s.unsupported(ctx, "save delta")
}

func (s *ownedStore) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if ts, ok := s.inner.(core.TakeStore); ok {
		if err := s.check(ctx, "take"); err != nil {
			return nil, false, err
		}
		return ts.Take(ctx, key)
	}
	return nil, false, s.unsupported(ctx, "take")
}

func (s *ownedStore) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	if us, ok := s.inner.(core.UserStore); ok {
		if err := s.check(ctx, "user sessions"); err != nil {
			return nil, err
		}
		return us.UserSessions(ctx, userKey)
	}
	return nil, s.unsupported(ctx, "user sessions")
}

func (s *ownedStore) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	if us, ok := s.inner.(core.UserStore); ok {
		if err := s.check(ctx, "delete user sessions"); err != nil {
			return nil, err
		}
		return us.DeleteUserSessions(ctx, userKey, match)
	}
	return nil, s.unsupported(ctx, "delete user sessions")
}

func (s *ownedStore) Touch(ctx context.Context, key string, expiry time.Time) error {
	if ts, ok := s.inner.(core.TouchStore); ok {
		if err := s.check(ctx, "touch"); err != nil {
			return err
		}
		return ts.Touch(ctx, key, expiry)
	}
	return s.unsupported(ctx, "touch")
}

func (s *ownedStore) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if ts, ok := s.inner.(core.TTLStore); ok {
		if err := s.check(ctx, "ttl"); err != nil {
			return 0, false, err
		}
		return ts.TTL(ctx, key)
	}
	return 0, false, s.unsupported(ctx, "ttl")
}

func (s *ownedStore) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if is, ok := s.inner.(core.IterStore); ok {
		if err := s.check(ctx, "iterate"); err != nil {
			return err
		}
		return is.Iterate(ctx, fn)
	}
	return s.unsupported(ctx, "iterate")
}

func (s *ownedStore) Count(ctx context.Context) (int, error) {
	if cs, ok := s.inner.(core.CountStore); ok {
		if err := s.check(ctx, "count"); err != nil {
			return 0, err
		}
		return cs.Count(ctx)
	}
	return 0, s.unsupported(ctx, "count")
}

func (s *ownedStore) Clear(ctx context.Context) error {
	if cs, ok := s.inner.(core.ClearStore); ok {
		if err := s.check(ctx, "clear"); err != nil {
			return err
		}
		return cs.Clear(ctx)
	}
	return s.unsupported(ctx, "clear")
}

func (s *ownedStore) Cleanup(ctx context.Context) (int, error) {
	if cs, ok := s.inner.(core.CleanupStore); ok {
		if err := s.check(ctx, "cleanup"); err != nil {
			return 0, err
		}
		return cs.Cleanup(ctx)
	}
	return 0, s.unsupported(ctx, "cleanup")
}

// Close closes the inner store and then the client Open made for it. Later
// calls of any method fail with core.ErrClosed; a second Close returns the
// first one's result.
func (s *ownedStore) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		var errs []error
		if c, ok := s.inner.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
		if s.release != nil {
			errs = append(errs, s.release())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
