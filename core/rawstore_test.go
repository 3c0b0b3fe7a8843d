package core

import (
	"bytes"
	"context"
	"sync"
	"time"
)

// rawStore is a test fixture, not a store to copy: a map-backed Store
// whose Save keeps the bytes it is given as they are, without the
// record.Check every real store's Save makes. Tests use it to plant
// hostile bytes, the way they reach a backend through another writer
// (a bug, an attacker with access to the database), and to see what
// Manager.Load makes of them. It judges expiry by time.Now and is safe
// for concurrent use.
type rawStore struct {
	mu sync.Mutex
	m  map[string]rawRecord
}

type rawRecord struct {
	data   []byte // never modified once stored
	expiry time.Time
}

func newRawStore() *rawStore { return &rawStore{m: map[string]rawRecord{}} }

func (s *rawStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.m[key]
	if !ok || !r.expiry.After(time.Now()) {
		return nil, false, nil
	}
	return r.data, true, nil
}

// Save stores a copy of data under key until expiry, whatever data holds.
func (s *rawStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = rawRecord{data: bytes.Clone(data), expiry: expiry}
	return nil
}

func (s *rawStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}
