package storetest_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
	"github.com/sessionkit/sessionkit/core/storetest"
)

// minimalStore is the least a third-party store implements: the three
// Store methods and nothing else, so the suite runs its fallbacks.
type minimalStore struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *minimalStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.m[key]
	if !ok || !record.Live(data, time.Now()) {
		return nil, false, nil
	}
	return data, true, nil
}

func (s *minimalStore) Save(ctx context.Context, key string, data []byte, _ time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.Check(data); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), data...)
	return nil
}

func (s *minimalStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

func TestMinimalStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) core.Store {
		return &minimalStore{m: map[string][]byte{}}
	})
}
