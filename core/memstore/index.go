package memstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/record"
)

// userIndex is the store's user index (see [core.UserStore]): per user key,
// the handles of the user's sessions and their store keys. Its lock is
// taken before a shard's whenever both are held, and every change of a
// record's binding holds both, so the index and the records change
// together.
type userIndex struct {
	mu sync.Mutex
	m  map[string]map[string]indexEntry // user key -> handle -> entry
}

type indexEntry struct {
	key string
	// taken is when Take removed the record (Unix nanoseconds), 0 while
	// the record is there: the entry waits for the Renew that carries the
	// binding to a new key, and the sweep drops it if none comes.
	taken int64
}

// takenGrace is how long an entry of a taken record waits for its Renew.
const takenGrace = time.Minute

// bind files the record data under key, bound as b, in the index and
// stamps a new binding's generation into data. A create carrying a
// binding (Gen not 0) needs its entry to be there still. old is the
// record key held before, whose binding is dropped when it differs.
func (ix *userIndex) bind(key string, data []byte, b record.Binding, create bool, old []byte) error {
	uk := record.UserKey(b.User)
	if create && b.Gen != 0 {
		if _, ok := ix.m[uk][b.Handle]; !ok {
			return fmt.Errorf("the sessions of the user were destroyed meanwhile: %w", core.ErrSessionGone)
		}
	}
	if b.Gen == 0 {
		if _, err := record.SetGen(data, 1); err != nil {
			return err
		}
	}
	if ob, found, _ := record.FindBinding(old); found && (ob.User != b.User || ob.Handle != b.Handle) {
		ix.drop(record.UserKey(ob.User), ob.Handle, key)
	}
	hs := ix.m[uk]
	if hs == nil {
		hs = make(map[string]indexEntry)
		ix.m[uk] = hs
	}
	hs[b.Handle] = indexEntry{key: key}
	return nil
}

// drop removes the entry of user key uk and handle h if it names key.
func (ix *userIndex) drop(uk, h, key string) {
	hs := ix.m[uk]
	if e, ok := hs[h]; ok && e.key == key {
		delete(hs, h)
		if len(hs) == 0 {
			delete(ix.m, uk)
		}
	}
}

func (ix *userIndex) markTaken(uk, h, key string, now int64) {
	if e, ok := ix.m[uk][h]; ok && e.key == key {
		ix.m[uk][h] = indexEntry{key: key, taken: now}
	}
}

// pruneTaken drops the entries of records taken longer than takenGrace
// ago: their Renew failed or never came.
func (ix *userIndex) pruneTaken(now int64) {
	for uk, hs := range ix.m {
		for h, e := range hs {
			if e.taken != 0 && now-e.taken > int64(takenGrace) {
				ix.drop(uk, h, e.key)
			}
		}
	}
}

// UserSessions returns the live records bound to the user whose user key
// is userKey, read from the index under its lock.
func (s *Store) UserSessions(ctx context.Context, userKey string) ([]core.UserRecord, error) {
	if err := s.begin(ctx, "user sessions"); err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	var out []core.UserRecord
	for h, ie := range s.idx.m[userKey] {
		if data, ok := s.boundTo(ie.key, userKey, h, now); ok {
			out = append(out, core.UserRecord{Key: ie.key, Data: data})
		}
	}
	return out, nil
}

// boundTo returns the record under key if it is live and bound to the
// user key uk with handle h.
func (s *Store) boundTo(key, uk, h string, now int64) ([]byte, bool) {
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.m[key]
	sh.mu.RUnlock()
	if !ok || !e.live(now) {
		return nil, false
	}
	b, bound, err := record.FindBinding(e.data)
	if err != nil || !bound || b.Handle != h || record.UserKey(b.User) != uk {
		return nil, false
	}
	return e.data, true
}

// DeleteUserSessions deletes the live records bound to the user whose user
// key is userKey and whose handles match accepts, together with their
// index entries, under the index lock: no bind, carried Renew or listing
// runs meanwhile. An entry of a record taken by a Renew in flight goes
// too, so that Renew cannot carry the binding to a new key; its handle
// is among those returned, since that device is logged out.
func (s *Store) DeleteUserSessions(ctx context.Context, userKey string, match func(handle string) bool) ([]string, error) {
	if err := s.begin(ctx, "delete user sessions"); err != nil {
		return nil, err
	}
	now := s.now().UnixNano()
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	var handles []string
	for h, ie := range s.idx.m[userKey] {
		if !match(h) {
			continue
		}
		if ie.taken != 0 {
			// A Renew in flight took the record: without its entry it
			// cannot carry the binding, so the device is logged out.
			handles = append(handles, h)
		} else if _, ok := s.boundTo(ie.key, userKey, h, now); ok {
			sh := s.shard(ie.key)
			sh.mu.Lock()
			_, existed := sh.m[ie.key]
			delete(sh.m, ie.key)
			sh.mu.Unlock()
			if existed {
				s.n.Add(-1)
			}
			handles = append(handles, h)
		}
		s.idx.drop(userKey, h, ie.key)
	}
	return handles, nil
}
