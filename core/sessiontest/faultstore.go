package sessiontest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// FaultStore wraps a store, counts the writes that reach it and can be told
// to fail or to slow down. It keeps the wrapped store's capabilities: its
// SaveDelta, Touch, Take, Iterate and user index call the wrapped store's, or report
// [core.ErrNotSupported] when it has none, so that the manager falls back
// to the three basic methods (through the FaultStore) as it would for the
// wrapped store itself.
//
// FaultStore is safe for concurrent use.
type FaultStore struct {
	inner  core.Store
	writes atomic.Int64
	loads  atomic.Int64

	mu       sync.Mutex
	loadErr  error
	writeErr error
	delay    time.Duration
}

var (
	_ core.DeltaStore = (*FaultStore)(nil)
	_ core.TouchStore = (*FaultStore)(nil)
	_ core.TakeStore  = (*FaultStore)(nil)
	_ core.IterStore  = (*FaultStore)(nil)
	_ core.UserStore  = (*FaultStore)(nil)
)

// NewFaultStore wraps inner.
func NewFaultStore(inner core.Store) *FaultStore { return &FaultStore{inner: inner} }

// Inner returns the wrapped store.
func (f *FaultStore) Inner() core.Store { return f.inner }

// Writes returns the number of Save, SaveDelta, Touch and Delete calls.
func (f *FaultStore) Writes() int64 { return f.writes.Load() }

// Loads returns the number of Load calls.
func (f *FaultStore) Loads() int64 { return f.loads.Load() }

// FailLoads makes Load return err (nil: stop failing).
func (f *FaultStore) FailLoads(err error) { f.mu.Lock(); f.loadErr = err; f.mu.Unlock() }

// FailWrites makes every write return err (nil: stop failing).
func (f *FaultStore) FailWrites(err error) { f.mu.Lock(); f.writeErr = err; f.mu.Unlock() }

// SetDelay makes every call wait d first, or until its context is done.
func (f *FaultStore) SetDelay(d time.Duration) { f.mu.Lock(); f.delay = d; f.mu.Unlock() }

func (f *FaultStore) before(ctx context.Context, write bool) error {
	f.mu.Lock()
	d, err := f.delay, f.loadErr
	if write {
		err = f.writeErr
	}
	f.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if write {
		f.writes.Add(1)
	} else {
		f.loads.Add(1)
	}
	return err
}

// Load implements core.Store.
func (f *FaultStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := f.before(ctx, false); err != nil {
		return nil, false, err
	}
	return f.inner.Load(ctx, key)
}

// Save implements core.Store.
func (f *FaultStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := f.before(ctx, true); err != nil {
		return err
	}
	return f.inner.Save(ctx, key, data, expiry)
}

// Delete implements core.Store.
func (f *FaultStore) Delete(ctx context.Context, key string) error {
	if err := f.before(ctx, true); err != nil {
		return err
	}
	return f.inner.Delete(ctx, key)
}

// SaveDelta implements core.DeltaStore.
func (f *FaultStore) SaveDelta(ctx context.Context, key string, d *record.Delta) error {
	if err := f.before(ctx, true); err != nil {
		return err
	}
	if ds, ok := f.inner.(core.DeltaStore); ok {
		return ds.SaveDelta(ctx, key, d)
	}
	return fmt.Errorf("sessiontest: FaultStore: inner store %T: save delta: %w", f.inner, core.ErrNotSupported)
}

// Touch implements core.TouchStore.
func (f *FaultStore) Touch(ctx context.Context, key string, expiry time.Time) error {
	if err := f.before(ctx, true); err != nil {
		return err
	}
	if ts, ok := f.inner.(core.TouchStore); ok {
		return ts.Touch(ctx, key, expiry)
	}
	return fmt.Errorf("sessiontest: FaultStore: inner store %T: touch: %w", f.inner, core.ErrNotSupported)
}

// Take implements core.TakeStore.
func (f *FaultStore) Take(ctx context.Context, key string) ([]byte, bool, error) {
	if err := f.before(ctx, true); err != nil {
		return nil, false, err
	}
	if ts, ok := f.inner.(core.TakeStore); ok {
		return ts.Take(ctx, key)
	}
	return nil, false, fmt.Errorf("sessiontest: FaultStore: inner store %T: take: %w", f.inner, core.ErrNotSupported)
}

// Iterate calls the wrapped store's Iterate (a load, for the faults).
func (f *FaultStore) Iterate(ctx context.Context, fn func(key string, data []byte) bool) error {
	if err := f.before(ctx, false); err != nil {
		return err
	}
	if is, ok := f.inner.(core.IterStore); ok {
		return is.Iterate(ctx, fn)
	}
	return fmt.Errorf("sessiontest: FaultStore: inner store %T: iterate: %w", f.inner, core.ErrNotSupported)
}

// UserSessions calls the wrapped store's (a load, for the faults).
func (f *FaultStore) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	if err := f.before(ctx, false); err != nil {
		return nil, err
	}
	if us, ok := f.inner.(core.UserStore); ok {
		return us.UserSessions(ctx, userKey)
	}
	return nil, fmt.Errorf("sessiontest: FaultStore: inner store %T: user sessions: %w", f.inner, core.ErrNotSupported)
}

// DeleteUserSessions calls the wrapped store's (a write, for the faults).
func (f *FaultStore) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	if err := f.before(ctx, true); err != nil {
		return nil, err
	}
	if us, ok := f.inner.(core.UserStore); ok {
		return us.DeleteUserSessions(ctx, userKey, match)
	}
	return nil, fmt.Errorf("sessiontest: FaultStore: inner store %T: delete user sessions: %w", f.inner, core.ErrNotSupported)
}
