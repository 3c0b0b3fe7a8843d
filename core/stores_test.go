package core_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core/filestore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/core/record"
)

// newTestMemoryStore returns a memory store without a cleanup goroutine,
// closed when t ends.
func newTestMemoryStore(t *testing.T, opts ...memstore.Option) *memstore.Store {
	t.Helper()
	s := memstore.New(append([]memstore.Option{memstore.WithCleanupInterval(0)}, opts...)...)
	t.Cleanup(func() { s.Close() })
	return s
}

// newTestFileStore returns a file store in dir without a cleanup
// goroutine, closed when t ends.
func newTestFileStore(t *testing.T, dir string, opts ...filestore.Option) *filestore.Store {
	t.Helper()
	s, err := filestore.New(dir, append([]filestore.Option{filestore.WithCleanupInterval(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// plainStore is the minimal third-party store: the three methods of
// core.Store and no capability, so that the manager's fallbacks run. It is
// safe for concurrent use.
type plainStore struct {
	mu sync.Mutex
	m  map[string]plainRecord
}

type plainRecord struct {
	data   []byte // never modified once stored
	expiry time.Time
}

func newPlainStore() *plainStore { return &plainStore{m: map[string]plainRecord{}} }

func (p *plainStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	p.mu.Lock()
	r, ok := p.m[key]
	p.mu.Unlock()
	now := time.Now()
	if !ok || !r.expiry.After(now) || !record.Live(r.data, now) {
		return nil, false, nil
	}
	return r.data, true, nil
}

func (p *plainStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := record.Check(data); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !expiry.After(time.Now()) {
		delete(p.m, key)
		return nil
	}
	p.m[key] = plainRecord{bytes.Clone(data), expiry}
	return nil
}

func (p *plainStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.m, key)
	p.mu.Unlock()
	return nil
}
