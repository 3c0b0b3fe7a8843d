package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// The operations below are what a core.Manager does with a store: use the
// optional capability when the store has it, and otherwise (or when it
// reports core.ErrNotSupported) fall back to the three basic methods, as
// the manager does. The kit checks a store through them, so that a store
// with fewer capabilities is held to the same results.

func saveDelta(ctx context.Context, s core.Store, key string, d *record.Delta, now time.Time) error {
	if ds, ok := s.(core.DeltaStore); ok {
		if err := ds.SaveDelta(ctx, key, d); !errors.Is(err, core.ErrNotSupported) {
			return err
		}
	}
	old, found, err := s.Load(ctx, key)
	if err != nil {
		return err
	}
	data, expiry, err := record.Apply(old, found, d, now)
	if err != nil {
		return err
	}
	return s.Save(ctx, key, data, expiry)
}

func take(ctx context.Context, s core.Store, key string, now time.Time) ([]byte, bool, error) {
	if ts, ok := s.(core.TakeStore); ok {
		data, found, err := ts.Take(ctx, key)
		if !errors.Is(err, core.ErrNotSupported) {
			return data, found, err
		}
	}
	data, found, err := s.Load(ctx, key)
	if err != nil || !found || !record.Live(data, now) {
		return nil, false, err
	}
	data = bytes.Clone(data)
	if err := s.Delete(ctx, key); err != nil {
		return nil, false, err
	}
	return data, true, nil
}

func touch(ctx context.Context, s core.Store, key string, expiry time.Time) error {
	if ts, ok := s.(core.TouchStore); ok {
		if err := ts.Touch(ctx, key, expiry); !errors.Is(err, core.ErrNotSupported) {
			return err
		}
	}
	data, found, err := s.Load(ctx, key)
	if err != nil || !found {
		return err
	}
	data = bytes.Clone(data)
	if err := record.SetExpiry(data, expiry); err != nil {
		return err
	}
	return s.Save(ctx, key, data, expiry)
}

func storeTTL(ctx context.Context, s core.Store, key string, now time.Time) (time.Duration, bool, error) {
	if ts, ok := s.(core.TTLStore); ok {
		ttl, found, err := ts.TTL(ctx, key)
		if !errors.Is(err, core.ErrNotSupported) {
			return ttl, found, err
		}
	}
	data, found, err := s.Load(ctx, key)
	if err != nil || !found {
		return 0, false, err
	}
	exp, err := record.Expiry(data)
	if err != nil || !exp.After(now) {
		return 0, false, err
	}
	return exp.Sub(now), true, nil
}

func unsupported(s core.Store, op string) error {
	return fmt.Errorf("storetest: %T: %s: %w", s, op, core.ErrNotSupported)
}

func iterate(ctx context.Context, s core.Store, fn func(key string, data []byte) bool) error {
	if is, ok := s.(core.IterStore); ok {
		return is.Iterate(ctx, fn)
	}
	return unsupported(s, "iterate")
}

func count(ctx context.Context, s core.Store) (int, error) {
	if cs, ok := s.(core.CountStore); ok {
		return cs.Count(ctx)
	}
	return 0, unsupported(s, "count")
}

func clearAll(ctx context.Context, s core.Store) error {
	if cs, ok := s.(core.ClearStore); ok {
		return cs.Clear(ctx)
	}
	return unsupported(s, "clear")
}

func cleanup(ctx context.Context, s core.Store) (int, error) {
	if cs, ok := s.(core.CleanupStore); ok {
		return cs.Cleanup(ctx)
	}
	return 0, unsupported(s, "cleanup")
}
